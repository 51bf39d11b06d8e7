//! The page's examples, checked natively: exactly the findings `e2e/expected.json` lists (the wasm
//! build in a browser and the end-to-end test of the page check the same list).
#![cfg(not(target_arch = "wasm32"))]

mod common;

#[test]
fn each_example_shows_exactly_its_findings() {
    let expected = common::expected();
    for (name, objects) in common::EXAMPLES {
        let shown = common::findings(objects);
        assert_eq!(shown, expected[name], "example {name}");
    }
}
