//! Scans of JSON text a policy runs over whole look-up answers and requests: where a string ends, how
//! deep containers nest, whether a character is written as an escape, where a needle occurs. The release
//! profile builds this crate at `opt-level = 3` (the modules are built at `"s"`): there `memchr`'s SIMD
//! loops are inlined into these scans instead of calling out of line at every step, and the needle
//! search below is compiled to SIMD compares (README "Performance").
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;

/// Where the closing quote is of the JSON string whose opening quote is byte `open` of `text`, past its
/// escapes; `None` when the string is not closed.
pub fn string_close(text: &[u8], open: usize) -> Option<usize> {
    let mut at = open + 1;
    loop {
        let found = at + memchr::memchr2(b'"', b'\\', text.get(at..)?)?;
        if text[found] == b'"' {
            return Some(found);
        }
        // An escape: the escaped character closes no string.
        at = found + 2;
    }
}

/// The deepest nesting of objects and lists in JSON `text`. A string is skipped to its closing quote in
/// one search (most of an object's text is its strings).
pub fn nesting_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest, mut at) = (0_usize, 0, 0);
    while let Some(&byte) = text.get(at) {
        match byte {
            b'"' => match string_close(text, at) {
                Some(close) => at = close,
                // An unterminated string: nothing after it nests.
                None => return deepest,
            },
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    deepest
}

/// Whether JSON `text` writes a character as `\uXXXX` (which may stand for any character) or `\/`.
/// (`\"`, `\\`, `\b`, `\f`, `\n`, `\r` and `\t` stand for a quote, a backslash and control characters.)
pub fn has_unicode_or_slash_escape(text: &[u8]) -> bool {
    let mut from = 0;
    while let Some(at) = text
        .get(from..)
        .and_then(|rest| memchr::memchr(b'\\', rest))
    {
        let at = from + at;
        if matches!(text.get(at + 1), Some(b'u' | b'/')) {
            return true;
        }
        // The escaped character (`\\`: a backslash) starts no escape.
        from = at + 2;
    }
    false
}

/// Adds to `found` every start of `needle` in `text`, overlapping ones too, in order (an empty needle
/// starts everywhere).
pub fn find_all(text: &[u8], needle: &[u8], found: &mut Vec<usize>) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    find_all_by_blocks(text, needle, found);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    find_all_with_memmem(text, needle, found);
}

/// [`find_all`] with `memchr`'s `memmem`, which searches 32 bytes at a time where the CPU has AVX2. In
/// wasm it tests one 16-byte vector per step, where [`find_all_by_blocks`] tests four.
#[cfg(any(test, not(all(target_arch = "wasm32", target_feature = "simd128"))))]
fn find_all_with_memmem(text: &[u8], needle: &[u8], found: &mut Vec<usize>) {
    let finder = memchr::memmem::Finder::new(needle);
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|rest| finder.find(rest)) {
        found.push(from + at);
        from += at + 1;
    }
}

/// How many starts [`find_all_by_blocks`] tests at once.
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
const BLOCK: usize = 64;

/// [`find_all`] a block of [`BLOCK`] starts at a time: two bytes of the needle (those `memchr`'s
/// heuristics rank rarest) are compared at every start of the block without a branch, which the compiler
/// makes a few SIMD compares, and only a block where both match is looked at start by start.
#[cfg(any(test, all(target_arch = "wasm32", target_feature = "simd128")))]
fn find_all_by_blocks(text: &[u8], needle: &[u8], found: &mut Vec<usize>) {
    let Some(last_start) = text.len().checked_sub(needle.len()) else {
        return;
    };
    let occurs_at = |start: usize| {
        text.get(start..)
            .is_some_and(|rest| rest.starts_with(needle))
    };
    let mut at = 0;
    if let Some(pair) = memchr::arch::all::packedpair::Pair::new(needle) {
        let (first, second) = (usize::from(pair.index1()), usize::from(pair.index2()));
        let (first_byte, second_byte) = (needle[first], needle[second]);
        let block_at = |offset: usize| text.get(offset..).and_then(<[u8]>::first_chunk::<BLOCK>);
        // Both offsets are within the needle: while a block's starts are starts, its bytes are in the text.
        while at + BLOCK <= last_start + 1 {
            let (Some(firsts), Some(seconds)) = (block_at(at + first), block_at(at + second))
            else {
                break;
            };
            let candidates = firsts.iter().zip(seconds).fold(0_u8, |any, (&a, &b)| {
                any | u8::from((a == first_byte) & (b == second_byte))
            });
            if candidates != 0 {
                let starts = (0..BLOCK).filter(|&offset| {
                    firsts[offset] == first_byte
                        && seconds[offset] == second_byte
                        && occurs_at(at + offset)
                });
                found.extend(starts.map(|offset| at + offset));
            }
            at += BLOCK;
        }
    }
    // The starts left (all of them for a needle too short for a pair), one at a time.
    found.extend((at..=last_start).filter(|&start| occurs_at(start)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `scan` gives each text of `cases` its answer.
    fn answer_each<T: PartialEq + core::fmt::Debug>(
        cases: &[(&[u8], T)],
        scan: impl Fn(&[u8]) -> T,
    ) {
        for (text, answer) in cases {
            let text_shown = core::str::from_utf8(text).unwrap_or("(not UTF-8)");
            assert_eq!(&scan(text), answer, "{text_shown}");
        }
    }

    /// Every start of `needle` in `text`, one at a time.
    fn starts(text: &[u8], needle: &[u8]) -> Vec<usize> {
        (0..=text.len())
            .filter(|&start| text[start..].starts_with(needle))
            .collect()
    }

    /// What [`find_all`]'s two searches find.
    fn found(text: &[u8], needle: &[u8]) -> [Vec<usize>; 2] {
        let (mut by_blocks, mut with_memmem) = (Vec::new(), Vec::new());
        find_all_by_blocks(text, needle, &mut by_blocks);
        find_all_with_memmem(text, needle, &mut with_memmem);
        [by_blocks, with_memmem]
    }

    #[test]
    fn a_needle_is_found_at_every_start_overlapping_ones_too() {
        let mut text = [b'x'; 3 * BLOCK + 5];
        // Across the first block's end, at the last full block's end, in the tail, at the very end.
        for start in [BLOCK - 2, 2 * BLOCK - 1, 3 * BLOCK, 3 * BLOCK + 3] {
            text[start..start + 2].copy_from_slice(b"\"a");
        }
        let needle = b"\"a";
        for found in found(&text, needle) {
            assert_eq!(found, [BLOCK - 2, 2 * BLOCK - 1, 3 * BLOCK, 3 * BLOCK + 3]);
        }
        for found in found(b"\"aa\"aa\"aa", b"\"aa\"aa") {
            assert_eq!(found, [0, 3]);
        }
        for found in found(b"abc", b"") {
            assert_eq!(found, [0, 1, 2, 3]);
        }
        for found in found(b"ab", b"abc") {
            assert_eq!(found, []);
        }
        for found in found(&[b'-'; 2 * BLOCK], b"-") {
            assert_eq!(found, (0..2 * BLOCK).collect::<Vec<_>>());
        }
    }

    proptest::proptest! {
        /// Both searches find exactly every start, over texts of a few characters where needles occur
        /// often, in blocks and in the tail.
        #[test]
        fn both_searches_find_every_start(
            text in proptest::collection::vec(proptest::sample::select(b"ab\"-".as_slice()), 0..4 * BLOCK),
            needle in proptest::collection::vec(proptest::sample::select(b"ab\"-".as_slice()), 0..6),
        ) {
            let every = starts(&text, &needle);
            for found in found(&text, &needle) {
                proptest::prop_assert_eq!(&found, &every);
            }
        }
    }

    #[test]
    fn a_string_closes_at_its_first_unescaped_quote() {
        let cases: [(&[u8], Option<usize>); 6] = [
            (br#""""#, Some(1)),
            (br#""abc", "d""#, Some(4)),
            (br#""a\"b""#, Some(5)),
            (br#""a\\"b""#, Some(4)),
            (br#""a\\\"b""#, Some(7)),
            (br#""ends in an escape\"#, None),
        ];
        answer_each(&cases, |text| string_close(text, 0));
        assert_eq!(string_close(br#"{"a": "b"}"#, 6), Some(8));
        assert_eq!(string_close(b"\"", 0), None);
    }

    #[test]
    fn nesting_depth_counts_containers_outside_strings() {
        let cases: [(&[u8], usize); 13] = [
            (b"{}", 1),
            (b"[[], {\"a\": [1, {\"b\": []}]}]", 5),
            (br#"{"a": "[[[{{{"}"#, 1),
            (br#"{"a": "x\"[[[", "b": [[]]}"#, 3),
            (br#"{"a": "x\\", "b": [[]]}"#, 3),
            (br#"{"a": "\\\\", "b": [[]]}"#, 3),
            (br#"{"a": "\"", "b": [[]], "c": "\\\"{"}"#, 3),
            (br#"[{"a": "ends in an escaped quote\""#, 2),
            (br#"[{"a": "unterminated [[["#, 2),
            (br#"[{"a": "ends in an escape\"#, 2),
            (b"[]]]]{", 1),
            (b"", 0),
            (b"\"just a string {\"", 0),
        ];
        answer_each(&cases, nesting_depth);
        assert_eq!(nesting_depth(&[b'['; 200]), 200);
    }

    #[test]
    fn only_unicode_and_slash_escapes_count() {
        let cases: [(&[u8], bool); 9] = [
            (br#"{"a": "b"}"#, false),
            (br#"{"a": "\u0062"}"#, true),
            (br#"{"a": "b\/c"}"#, true),
            (br#"{"a": "\"\n\t\r\b\f"}"#, false),
            (br#"{"a": "\\u0062"}"#, false),
            (br#"{"a": "\\/"}"#, false),
            (br#"{"a": "\\\u0062"}"#, true),
            (br#"{"a": "ends in a backslash\"#, false),
            (b"", false),
        ];
        answer_each(&cases, has_unicode_or_slash_escape);
    }
}
