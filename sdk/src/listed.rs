//! The List answers of look-ups, read no further than a rule needs: every item straight into its model in
//! one pass, or, for a rule that looks for a few objects among many, only the items whose text may
//! mention what it looks for.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::ops::Range;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::cluster::{Cluster, Lookup, LookupError, ResourceKind};
use crate::parse::{FieldError, null_as_default};

/// A string a rule looks for in listed objects: a whole JSON string, or the start of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mention<'a> {
    /// A string equal to this (an object's name, a target's name).
    Exact(&'a str),
    /// A string that starts with this (`<dgd>-`, the names of a DGD's adapters).
    Prefix(&'a str),
}

impl Mention<'_> {
    /// The text that starts every JSON string this matches where the string is written without
    /// escapes: `"` and the text (and the closing `"` of an exact match). `None` when the text holds a
    /// character JSON always escapes (`"`, `\`, a control character): no text finds it.
    fn needle(&self) -> Option<String> {
        let (text, closing) = match *self {
            Self::Exact(text) => (text, "\""),
            Self::Prefix(text) => (text, ""),
        };
        if text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            return None;
        }
        Some(format!("\"{text}{closing}"))
    }
}

/// A [`Mention`] kept by a search.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Searched {
    text: String,
    exact: bool,
}

impl Searched {
    /// Whether every string `mention` matches, this matches too.
    fn covers(&self, mention: &Mention<'_>) -> bool {
        match (self.exact, *mention) {
            (true, Mention::Exact(text)) => self.text == text,
            (true, Mention::Prefix(_)) => false,
            (false, Mention::Exact(text) | Mention::Prefix(text)) => text.starts_with(&self.text),
        }
    }
}

/// A search over the answer's text, and the items it found.
struct Search {
    mentions: Vec<Searched>,
    found: Vec<usize>,
}

/// Searches one list's text at most this often; a rule asking more reads every item (a search is a
/// pass over the whole answer, reading an item a pass over the item).
const SEARCHES: usize = 2;

/// Reads one item of a List JSON.
pub type ReadItem<T> = fn(&str) -> Result<T, FieldError>;

/// Reads every item of a List JSON in one pass (see [`read_in_one_pass`]); `None` when an item does not
/// fit (the item's own [`ReadItem`] then names it).
pub type ReadAll<T> = fn(&str) -> Option<Vec<T>>;

/// A List as the host answered it, its items read on first use: every item ([`Self::all`],
/// [`Self::all_in_one_pass`]), or those a rule looks for among the items that may mention given strings
/// ([`Self::read_where`]), found in the text so that the others are never read. An item that does not
/// fit its model fails only the look-ups that read it, with an error naming the object and the field.
pub struct ListedItems<T> {
    text: ListText,
    read_item: ReadItem<T>,
    /// Every item, read in one pass by the first [`Self::all_in_one_pass`] made before the items were
    /// found (`None`: an item does not fit).
    whole: OnceCell<Option<Vec<T>>>,
    /// Each item's model, read on first use, once the items are found.
    read: OnceCell<Vec<OnceCell<Result<T, LookupError>>>>,
}

impl<T> ListedItems<T> {
    /// The List `text`, its items read by `read_item`.
    pub fn new(text: ListText, read_item: ReadItem<T>) -> Self {
        Self {
            text,
            read_item,
            whole: OnceCell::new(),
            read: OnceCell::new(),
        }
    }

    /// The kind listed.
    pub fn kind(&self) -> &ResourceKind {
        &self.text.kind
    }

    /// Every item, read, in list order.
    pub fn all(&self) -> Result<Vec<&T>, LookupError> {
        self.read_where(None, &|_| true)
    }

    /// [`Self::all`], read by `read_all` in one pass when no item was read before.
    pub fn all_in_one_pass(&self, read_all: ReadAll<T>) -> Result<Vec<&T>, LookupError> {
        if self.text.items.get().is_none() {
            let whole = self.whole.get_or_init(|| read_all(&self.text.answer));
            if let Some(whole) = whole {
                return Ok(whole.iter().collect());
            }
        }
        self.all()
    }

    /// The items `keep` accepts, in list order, of those that may mention one of `mentions` (`None`: of
    /// all). Only these are read: an item the text shows to hold none of `mentions` is not.
    pub fn read_where(
        &self,
        mentions: Option<&[Mention<'_>]>,
        keep: &dyn Fn(&T) -> bool,
    ) -> Result<Vec<&T>, LookupError> {
        let mut kept = Vec::new();
        // Read whole before, a list gives every item to `keep`.
        if let Some(Some(whole)) = self.whole.get() {
            for item in whole {
                if keep(item) {
                    kept.push(item);
                }
            }
            return Ok(kept);
        }
        let found = match mentions {
            Some(mentions) => self.text.search(mentions)?,
            None => None,
        };
        let found = match found {
            Some(found) => found,
            None => (0..self.text.items()?.len()).collect(),
        };
        for i in found {
            let item = self.read(i)?;
            if keep(item) {
                kept.push(item);
            }
        }
        Ok(kept)
    }

    /// Item `i` (of those found), read.
    fn read(&self, i: usize) -> Result<&T, LookupError> {
        let items = self.text.items()?;
        let cells = self
            .read
            .get_or_init(|| items.iter().map(|_| OnceCell::new()).collect());
        cells[i]
            .get_or_init(|| {
                let item = &self.text.answer[items[i].clone()];
                (self.read_item)(item).map_err(|error| self.text.item_failed(item, &error))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A List as the host answered it, where its items are in it, and the searches made over it: what does
/// not depend on the items' model.
pub struct ListText {
    kind: ResourceKind,
    namespace: String,
    answer: String,
    /// Where each item is in the answer, found on first need.
    items: OnceCell<Result<Vec<Range<usize>>, LookupError>>,
    /// Whether the answer writes a character as an escape a looked-for string may hold (`\u…`, `\/`):
    /// then no string is found by its text, and a search finds every item.
    escapes: OnceCell<bool>,
    /// The searches made over the answer's text.
    searches: RefCell<Vec<Search>>,
}

impl ListText {
    /// Lists `lookup`.
    pub fn list(cluster: &dyn Cluster, lookup: &Lookup<'_>) -> Result<Self, LookupError> {
        let answer = String::from_utf8(cluster.list_json(lookup)?)
            .map_err(|error| list_failed(lookup, &error.utf8_error()))?;
        Ok(Self {
            kind: lookup.kind.clone(),
            namespace: lookup.namespace.to_owned(),
            answer,
            items: OnceCell::new(),
            escapes: OnceCell::new(),
            searches: RefCell::new(Vec::new()),
        })
    }

    fn items(&self) -> Result<&[Range<usize>], LookupError> {
        self.items
            .get_or_init(|| {
                let start = self.answer.as_ptr() as usize;
                let items = list_items(&self.lookup(), &self.answer)?;
                Ok(items
                    .into_iter()
                    .map(|item| {
                        let offset = item.get().as_ptr() as usize - start;
                        offset..offset + item.get().len()
                    })
                    .collect())
            })
            .as_deref()
            .map_err(Clone::clone)
    }

    /// The indexes of the items whose text holds a needle of `mentions`, in list order; `None` when the
    /// text cannot tell (see [`Self::escapes`], [`Mention::needle`]) or the list was searched
    /// [`SEARCHES`] times already. A search that an earlier one covers gives what that one found.
    fn search(&self, mentions: &[Mention<'_>]) -> Result<Option<Vec<usize>>, LookupError> {
        let items = self.items()?;
        let mut searches = self.searches.borrow_mut();
        let covering = searches.iter().find(|search| {
            mentions
                .iter()
                .all(|mention| search.mentions.iter().any(|kept| kept.covers(mention)))
        });
        if let Some(search) = covering {
            return Ok(Some(search.found.clone()));
        }
        if searches.len() >= SEARCHES || self.escapes() {
            return Ok(None);
        }
        let Some(needles) = mentions
            .iter()
            .map(Mention::needle)
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(None);
        };
        let mut mentioned = vec![false; items.len()];
        for needle in &needles {
            let mut from = 0;
            // Every occurrence, overlapping ones too: one in no item must not hide one in an item.
            while let Some(at) = self.answer[from..]
                .find(needle.as_str())
                .map(|at| from + at)
            {
                let after = items.partition_point(|item| item.start <= at);
                if let Some(i) = after.checked_sub(1).filter(|&i| at < items[i].end) {
                    mentioned[i] = true;
                }
                from = at + 1;
            }
        }
        let found: Vec<usize> = (0..items.len()).filter(|&i| mentioned[i]).collect();
        searches.push(Search {
            mentions: mentions
                .iter()
                .map(|mention| match *mention {
                    Mention::Exact(text) => Searched {
                        text: text.to_owned(),
                        exact: true,
                    },
                    Mention::Prefix(text) => Searched {
                        text: text.to_owned(),
                        exact: false,
                    },
                })
                .collect(),
            found: found.clone(),
        });
        Ok(Some(found))
    }

    /// Whether the answer escapes a character other than `"` and `\` that a string may hold: `\uXXXX`
    /// (any character) or `\/`. (`\b`, `\f`, `\n`, `\r`, `\t` stand for control characters, which no
    /// needle holds.)
    fn escapes(&self) -> bool {
        *self.escapes.get_or_init(|| {
            let text = self.answer.as_bytes();
            let mut from = 0;
            while let Some(at) = self.answer.get(from..).and_then(|rest| rest.find('\\')) {
                let at = from + at;
                if matches!(text.get(at + 1), Some(b'u' | b'/')) {
                    return true;
                }
                // The escaped character (`\\`: a backslash) starts no escape.
                from = at + 2;
            }
            false
        })
    }

    fn lookup(&self) -> Lookup<'_> {
        Lookup {
            kind: &self.kind,
            namespace: &self.namespace,
            field_masks: &[],
        }
    }

    /// The error of `item` that does not fit its model, naming the object.
    fn item_failed(&self, item: &str, error: &FieldError) -> LookupError {
        item_failed(&self.lookup(), item, error)
    }
}

/// Reads every item of the List JSON `answer` into a `T`, made a `U` by `into`, in one pass; `None`
/// when the answer is not a List whose items all fit `T`.
pub fn read_in_one_pass<T: DeserializeOwned, U>(answer: &str, into: fn(T) -> U) -> Option<Vec<U>> {
    let items = ItemsOf {
        // The items of the masked lists take a few hundred bytes each: sized so, the list seldom grows.
        capacity: answer.len() / 256,
        into,
    };
    let mut deserializer = serde_json::Deserializer::from_str(answer);
    let items = deserializer.deserialize_map(items).ok()?;
    deserializer.end().ok().map(|()| items)
}

/// Reads the `items` of a List JSON (absent or `null`: none) into a `Vec<U>` of `capacity`, each item
/// read as a `T` and made a `U` by `into`.
struct ItemsOf<T, U> {
    capacity: usize,
    into: fn(T) -> U,
}

impl<'de, T: Deserialize<'de>, U> Visitor<'de> for ItemsOf<T, U> {
    type Value = Vec<U>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a List")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<U>, A::Error> {
        let mut items = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key != "items" {
                map.next_value::<IgnoredAny>()?;
            } else if items.is_some() {
                return Err(A::Error::duplicate_field("items"));
            } else {
                items = Some(map.next_value_seed(ItemList(self.capacity, self.into))?);
            }
        }
        Ok(items.unwrap_or_default())
    }
}

/// The list of a List's `items` (`null`: none), read into a `Vec<U>` of the given capacity.
struct ItemList<T, U>(usize, fn(T) -> U);

impl<'de, T: Deserialize<'de>, U> DeserializeSeed<'de> for ItemList<T, U> {
    type Value = Vec<U>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<U>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>, U> Visitor<'de> for ItemList<T, U> {
    type Value = Vec<U>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a list of objects")
    }

    fn visit_none<E>(self) -> Result<Vec<U>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<U>, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<U>, A::Error> {
        let mut items = Vec::with_capacity(self.0);
        while let Some(item) = seq.next_element()? {
            items.push((self.1)(item));
        }
        Ok(items)
    }
}

/// The items of a List, each the unparsed JSON text of one object.
#[derive(Deserialize)]
struct ListItems<'a> {
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    items: Vec<&'a RawValue>,
}

/// Just enough of an object to name it in an error.
#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow, default)]
    metadata: Option<NameOnly<'a>>,
}

#[derive(Deserialize)]
struct NameOnly<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

/// The items of the List JSON `answer` to `lookup`.
fn list_items<'a>(lookup: &Lookup<'_>, answer: &'a str) -> Result<Vec<&'a RawValue>, LookupError> {
    let list: ListItems<'_> = serde_json::from_str(answer).map_err(|e| list_failed(lookup, &e))?;
    Ok(list.items)
}

/// The error of an answer to `lookup` that is not a List.
fn list_failed(lookup: &Lookup<'_>, reason: &dyn fmt::Display) -> LookupError {
    LookupError::Failed(format!(
        "list of {} in {}: {reason}",
        lookup.kind, lookup.namespace
    ))
}

/// The error of a listed `item` that does not fit its model, naming the object.
fn item_failed(lookup: &Lookup<'_>, item: &str, error: &FieldError) -> LookupError {
    let named: Option<Named<'_>> = serde_json::from_str(item).ok();
    let name = named
        .and_then(|named| named.metadata?.name)
        .unwrap_or(Cow::Borrowed("<unnamed>"));
    LookupError::Failed(format!(
        "{} {}/{name}: {error}",
        lookup.kind, lookup.namespace
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::from_str;

    /// Answers every look-up with `answer`.
    struct Answering(&'static str);

    impl Cluster for Answering {
        fn list_json(&self, _: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
            Ok(self.0.as_bytes().to_vec())
        }
    }

    const DGD: ResourceKind = ResourceKind::of("nvidia.com/v1beta1", "DynamoGraphDeployment");
    const LOOKUP: Lookup<'static> = Lookup {
        kind: &DGD,
        namespace: "x",
        field_masks: &[],
    };

    /// An object read for its name and a size.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Sized {
        metadata: NameOf,
        #[serde(default)]
        size: u8,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct NameOf {
        name: String,
    }

    /// The List `answer`.
    fn listed(answer: &'static str) -> ListedItems<Sized> {
        ListedItems::new(
            ListText::list(&Answering(answer), &LOOKUP).unwrap(),
            from_str,
        )
    }

    /// Every item of `items`, read in one pass when `one_pass`, else item by item.
    fn all(items: &ListedItems<Sized>, one_pass: bool) -> Result<Vec<&Sized>, LookupError> {
        if one_pass {
            items.all_in_one_pass(|answer| read_in_one_pass(answer, |sized| sized))
        } else {
            items.all()
        }
    }

    /// The names of `items`, a space between each.
    fn names(items: Result<Vec<&Sized>, LookupError>) -> Result<String, LookupError> {
        let names: Vec<&str> = items?.iter().map(|s| s.metadata.name.as_str()).collect();
        Ok(names.join(" "))
    }

    /// The names of the items of `items` that may mention `mention`.
    fn mentioning(items: &ListedItems<Sized>, mention: Mention<'_>) -> Result<String, LookupError> {
        names(items.read_where(Some(&[mention]), &|_| true))
    }

    fn sizes(items: Result<Vec<&Sized>, LookupError>) -> Result<Vec<u8>, LookupError> {
        Ok(items?.iter().map(|s| s.size).collect())
    }

    #[test]
    fn items_are_read_straight_from_the_list_json() {
        let answer = r#"{"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": [{"metadata": {"name": "a", "labels": {"x": "y"}}, "spec": {}}, {"metadata": {"name": "b"}}]}"#;
        for one_pass in [true, false] {
            assert_eq!(names(all(&listed(answer), one_pass)), Ok("a b".into()));
            assert_eq!(
                names(all(&listed(r#"{"items": null}"#), one_pass)),
                Ok(String::new())
            );
            assert_eq!(names(all(&listed("{}"), one_pass)), Ok(String::new()));
        }
    }

    #[test]
    fn an_item_that_does_not_fit_is_named_with_its_field() {
        let unreadable = |answer| all(&listed(answer), true).unwrap_err().to_string();
        assert_eq!(
            unreadable(r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": 5}}]}"#),
            "nvidia.com/v1beta1/DynamoGraphDeployment x/<unnamed>: metadata.name: invalid type: integer `5`, expected a string"
        );
        assert_eq!(
            unreadable(
                r#"{"items": [{"metadata": {"name": "a"}, "size": 1}, {"metadata": {"name": "b"}, "size": -1}]}"#
            ),
            "nvidia.com/v1beta1/DynamoGraphDeployment x/b: size: invalid value: integer `-1`, expected u8"
        );
        assert!(
            unreadable(r#"{"items": 3}"#).starts_with(
                "list of nvidia.com/v1beta1/DynamoGraphDeployment in x: invalid type: integer `3`"
            ),
            "{}",
            unreadable(r#"{"items": 3}"#)
        );
    }

    #[test]
    fn one_pass_reads_what_item_by_item_reads_and_fails_alike() {
        for answer in [
            r#"{"kind": "List", "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}, "size": 2}]}"#,
            r#"{"items": null, "metadata": {}}"#,
            "{}",
            r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": 5}}]}"#,
            r#"{"items": [], "items": [{"metadata": {"name": "a"}}]}"#,
            r#"{"items": [{"metadata": {"name": "a"}}]} trailing"#,
            r#"{"items": {"metadata": {"name": "a"}}}"#,
            "[]",
        ] {
            assert_eq!(
                all(&listed(answer), true),
                all(&listed(answer), false),
                "{answer}"
            );
        }
    }

    const THREE: &str = r#"{"items": [{"metadata": {"name": "a"}, "size": 1}, {"metadata": {"name": "b"}, "size": "big"}, {"metadata": {"name": "a"}, "size": 3}]}"#;

    #[test]
    fn a_search_reads_only_the_items_that_mention_what_it_looks_for() {
        let items = listed(THREE);
        assert_eq!(
            sizes(items.read_where(Some(&[Mention::Exact("a")]), &|_| true)),
            Ok(vec![1, 3])
        );
        assert_eq!(
            sizes(items.read_where(Some(&[Mention::Exact("c")]), &|_| true)),
            Ok(vec![])
        );
        let unreadable = Err(LookupError::Failed(
            "nvidia.com/v1beta1/DynamoGraphDeployment x/b: size: invalid type: string \"big\", expected u8".into(),
        ));
        assert_eq!(sizes(items.all()), unreadable, "item by item once searched");
        assert_eq!(
            sizes(items.read_where(Some(&[Mention::Exact("a")]), &|_| true)),
            Ok(vec![1, 3]),
            "read once, kept"
        );
        // What the rule keeps, of the items found.
        assert_eq!(
            sizes(items.read_where(Some(&[Mention::Exact("a")]), &|s| s.size > 1)),
            Ok(vec![3])
        );
        // Read whole first, a list gives every item to what the rule keeps.
        let whole =
            listed(r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]}"#);
        assert_eq!(names(all(&whole, true)), Ok("a b".into()));
        assert_eq!(mentioning(&whole, Mention::Exact("b")), Ok("a b".into()));
        assert_eq!(
            names(whole.read_where(Some(&[Mention::Exact("b")]), &|s| s.metadata.name == "b")),
            Ok("b".into())
        );
    }

    #[test]
    fn a_mention_is_a_whole_string_or_the_start_of_one() {
        let answer = r#"{"metadata": {"name": "llm-000"}, "items": [{"metadata": {"name": "llm-000-decode"}}, {"metadata": {"name": "llm-0001"}}, {"metadata": {"name": "x"}, "spec": {"ref": "llm-000"}}]}"#;
        let found =
            |mentions: &[Mention<'_>]| names(listed(answer).read_where(Some(mentions), &|_| true));
        assert_eq!(found(&[Mention::Exact("llm-000")]), Ok("x".into()));
        assert_eq!(
            found(&[Mention::Prefix("llm-000-")]),
            Ok("llm-000-decode".into())
        );
        assert_eq!(
            found(&[Mention::Prefix("llm-000")]),
            Ok("llm-000-decode llm-0001 x".into())
        );
        assert_eq!(
            found(&[Mention::Exact("llm-0001"), Mention::Exact("x")]),
            Ok("llm-0001 x".into())
        );
        // A key is a string too: found, and left to the rule to test.
        assert_eq!(found(&[Mention::Exact("ref")]), Ok("x".into()));
        assert_eq!(found(&[]), Ok(String::new()));
    }

    #[test]
    fn a_string_the_text_may_not_show_reads_every_item() {
        // `\u0061` is `a`, `\/` is `/`: the answer escapes characters a name may hold.
        for answer in [
            r#"{"items": [{"metadata": {"name": "\u0061"}}, {"metadata": {"name": "b"}}]}"#,
            r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b\/c"}}]}"#,
        ] {
            assert_eq!(
                mentioning(&listed(answer), Mention::Exact("a")).map(|n| n.split(' ').count()),
                Ok(2),
                "{answer}"
            );
        }
        // `\"`, `\\` and `\n` escape nothing a findable name holds; `\\u` is a backslash, then `u`.
        let answer =
            r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b\"\\u\n"}}]}"#;
        assert_eq!(
            mentioning(&listed(answer), Mention::Exact("a")),
            Ok("a".into())
        );
        // A name JSON must escape is never searched for.
        assert_eq!(
            mentioning(&listed(answer), Mention::Exact("b\"")),
            Ok("a b\"\\u\n".into())
        );
    }

    #[test]
    fn a_search_an_earlier_one_covers_finds_what_that_one_found() {
        let answer = r#"{"items": [{"metadata": {"name": "d-a"}}, {"metadata": {"name": "d-b"}}, {"metadata": {"name": "e"}}, {"metadata": {"name": "f"}}]}"#;
        let items = listed(answer);
        assert_eq!(
            mentioning(&items, Mention::Prefix("d-")),
            Ok("d-a d-b".into())
        );
        assert_eq!(
            mentioning(&items, Mention::Exact("d-b")),
            Ok("d-a d-b".into()),
            "covered by the first search: no pass over the text"
        );
        assert_eq!(mentioning(&items, Mention::Exact("e")), Ok("e".into()));
        assert_eq!(
            mentioning(&items, Mention::Exact("f")),
            Ok("d-a d-b e f".into()),
            "searched twice already: every item"
        );
    }
}
