//! The List answers of look-ups, read no further than a rule needs: every item straight into its model in
//! one pass, or, for a rule that looks for a few objects among many, only the items whose text may
//! mention what it looks for. Where the items are is found from the text's start only as far as the last
//! item such a search needs.

use std::borrow::Cow;
use std::cell::{OnceCell, Ref, RefCell};
use std::fmt;
use std::ops::Range;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer};

use crate::cluster::{Cluster, Lookup, LookupError, ResourceKind};
use crate::parse::FieldError;

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

/// Items read on first use are kept in chunks of this many, each made when one of its items is first read.
const CHUNK: usize = 64;

/// Reads one item of a List JSON.
pub type ReadItem<T> = fn(&str) -> Result<T, FieldError>;

/// Reads every item of a List JSON in one pass (see [`read_in_one_pass`]); `None` when an item does not
/// fit (the item's own [`ReadItem`] then names it).
pub type ReadAll<T> = fn(&[u8]) -> Option<Vec<T>>;

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
    /// Each item's model, read on first use, by chunks of [`CHUNK`] items, made when the first item is
    /// read. How many items the list holds is known only once its text is split to the end: fewer than
    /// half as many as it has bytes.
    read: OnceCell<Vec<Chunk<T>>>,
}

/// [`CHUNK`] items' models, each read on first use; made when one of them is first read.
type Chunk<T> = OnceCell<Box<[OnceCell<Result<T, LookupError>>]>>;

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
        if self.text.split.borrow().is_none() {
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
            None => (0..self.text.items_through(None)?.len()).collect(),
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
        let not_found = || list_failed(&self.text.lookup(), &format_args!("no item {i}"));
        let chunks = self.read.get_or_init(|| {
            let chunks = (self.text.answer.len() / 2 + 1).div_ceil(CHUNK);
            std::iter::repeat_with(OnceCell::new).take(chunks).collect()
        });
        let chunk = chunks
            .get(i / CHUNK)
            .ok_or_else(not_found)?
            .get_or_init(|| std::iter::repeat_with(OnceCell::new).take(CHUNK).collect());
        chunk[i % CHUNK]
            .get_or_init(|| {
                let item = self.text.item(i).ok_or_else(not_found)??;
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
    /// The host's bytes, not checked as UTF-8 as a whole: an item is, when it is read.
    answer: Vec<u8>,
    /// Where the items are in the answer, found from its start as far as a rule needs (`None`: not yet
    /// begun).
    split: RefCell<Option<Result<Split, String>>>,
    /// Whether the answer writes a character as an escape a looked-for string may hold (`\u…`, `\/`):
    /// then no string is found by its text, and a search finds every item.
    escapes: OnceCell<bool>,
    /// The searches made over the answer's text.
    searches: RefCell<Vec<Search>>,
}

impl ListText {
    /// Lists `lookup`.
    pub fn list(cluster: &dyn Cluster, lookup: &Lookup<'_>) -> Result<Self, LookupError> {
        let answer = cluster.list_json(lookup)?;
        Ok(Self {
            kind: lookup.kind.clone(),
            namespace: lookup.namespace.to_owned(),
            answer,
            split: RefCell::new(None),
            escapes: OnceCell::new(),
            searches: RefCell::new(Vec::new()),
        })
    }

    /// Where the items are, found from the answer's start as far as the item that holds byte `at` (`None`:
    /// to the end). The text is read as JSON up to the last item found, and no further.
    fn items_through(&self, at: Option<usize>) -> Result<Ref<'_, [Range<usize>]>, LookupError> {
        let mut state = self.split.borrow_mut();
        let split = state.get_or_insert_with(|| Split::begin(&self.answer));
        if let Ok(found) = split
            && let Err(reason) = found.go_on(&self.answer, at.unwrap_or(usize::MAX))
        {
            *split = Err(reason);
        }
        if let Some(Err(reason)) = &*state {
            return Err(list_failed(&self.lookup(), reason));
        }
        drop(state);
        Ok(Ref::map(self.split.borrow(), |state| match state {
            Some(Ok(split)) => split.found.as_slice(),
            _ => &[],
        }))
    }

    /// The text of item `i`, when found already (by the search that gives `i`, or to the end).
    fn item(&self, i: usize) -> Option<Result<&str, LookupError>> {
        let found = match &*self.split.borrow() {
            Some(Ok(split)) => split.found.get(i).cloned(),
            _ => None,
        }?;
        Some(
            std::str::from_utf8(&self.answer[found])
                .map_err(|error| list_failed(&self.lookup(), &format_args!("item {i}: {error}"))),
        )
    }

    /// The indexes of the items whose text holds a needle of `mentions`, in list order; `None` when the
    /// text cannot tell (see [`Self::escapes`], [`Mention::needle`]) or the list was searched
    /// [`SEARCHES`] times already. A search that an earlier one covers gives what that one found.
    fn search(&self, mentions: &[Mention<'_>]) -> Result<Option<Vec<usize>>, LookupError> {
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
        // Every occurrence, overlapping ones too: one in no item must not hide one in an item.
        let mut occurrences = Vec::new();
        let text = &self.answer;
        for needle in &needles {
            scaleguard_json_scan::find_all(text, needle.as_bytes(), &mut occurrences);
        }
        // Where the items are is found only when some text mentions what the rule looks for, and only up to
        // the item of the last mention.
        let mut found = Vec::new();
        if let Some(&last) = occurrences.iter().max() {
            let items = self.items_through(Some(last))?;
            let mut mentioned = vec![false; items.len()];
            for at in occurrences {
                let after = items.partition_point(|item| item.start <= at);
                if let Some(i) = after.checked_sub(1).filter(|&i| at < items[i].end) {
                    mentioned[i] = true;
                }
            }
            found.extend((0..items.len()).filter(|&i| mentioned[i]));
        }
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
        *self
            .escapes
            .get_or_init(|| scaleguard_json_scan::has_unicode_or_slash_escape(&self.answer))
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
pub fn read_in_one_pass<T: DeserializeOwned, U>(answer: &[u8], into: fn(T) -> U) -> Option<Vec<U>> {
    let items = ItemsOf {
        // The items of the masked lists take a few hundred bytes each: sized so, the list seldom grows.
        capacity: answer.len() / 256,
        into,
    };
    // Read as text, as the items are: one pass reads every byte anyway, and the modules then carry one
    // deserializer per model, not two.
    let mut deserializer = serde_json::Deserializer::from_str(std::str::from_utf8(answer).ok()?);
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

/// Where a List's items are in its text, as far as found: an item is found once every item before it is.
struct Split {
    /// The items found, in list order.
    found: Vec<Range<usize>>,
    /// Where the next item (or, before the first, the list's closing `]`) begins; `None` once the list
    /// has ended.
    rest: Option<usize>,
}

impl Split {
    /// Finds where the List JSON `text` holds its items: the `[` of its `items` (absent or `null`: none).
    /// What comes before it is read as JSON; what comes after, only once the last item is found.
    fn begin(text: &[u8]) -> Result<Self, String> {
        let (at, next) = skip_whitespace(text, 0);
        if next != Some(b'{') {
            return Err(format!("expected a List object at byte {at}"));
        }
        let Some(items) = find_items(text, at + 1, true)? else {
            return Ok(Self::none());
        };
        if text.get(items) == Some(&b'[') {
            return Ok(Self {
                found: Vec::new(),
                rest: Some(items + 1),
            });
        }
        // Not a list: `null` (no items), or an error.
        let value = value_at(text, items)?;
        if text[value.clone()] != *b"null" {
            return Err(format!("items: expected a list or null at byte {items}"));
        }
        Self::end(text, value.end)?;
        Ok(Self::none())
    }

    /// A List without items.
    fn none() -> Self {
        Self {
            found: Vec::new(),
            rest: None,
        }
    }

    /// Reads the List's members after its items, which end before byte `at`, to the end of the text.
    fn end(text: &[u8], at: usize) -> Result<(), String> {
        match find_items(text, at, false)? {
            Some(_) => Err("duplicate field `items`".into()),
            None => Ok(()),
        }
    }

    /// Finds the next items of `text` as far as the item that holds byte `at`, or to the end.
    fn go_on(&mut self, text: &[u8], at: usize) -> Result<(), String> {
        while let Some(rest) = self.rest {
            if self.found.last().is_some_and(|item| item.end > at) {
                break;
            }
            let (at, next) = skip_whitespace(text, rest);
            if self.found.is_empty() && next == Some(b']') {
                self.rest = None;
                return Self::end(text, at + 1);
            }
            let item = value_at(text, at)?;
            let (after, next) = skip_whitespace(text, item.end);
            self.found.push(item);
            match next {
                Some(b',') => self.rest = Some(after + 1),
                Some(b']') => {
                    self.rest = None;
                    return Self::end(text, after + 1);
                }
                _ => return Err(format!("items: expected `,` or `]` at byte {after}")),
            }
        }
        Ok(())
    }
}

/// Reads the members of the List object in `text` from byte `at` (just after its `{` when `first`, else
/// just after a member) up to its `items`: where the value of `items` begins, or `None` when the object
/// ends first (and, with it, the text).
fn find_items(text: &[u8], at: usize, first: bool) -> Result<Option<usize>, String> {
    let (mut at, mut next) = skip_whitespace(text, at);
    if next == Some(b'}') || (!first && next != Some(b',')) {
        return object_end(text, at, next);
    }
    if !first {
        (at, next) = skip_whitespace(text, at + 1);
    }
    loop {
        if next != Some(b'"') {
            return Err(format!("expected a member's name at byte {at}"));
        }
        let name = value_at(text, at)?;
        let (colon, separator) = skip_whitespace(text, name.end);
        if separator != Some(b':') {
            return Err(format!("expected `:` at byte {colon}"));
        }
        let (value, _) = skip_whitespace(text, colon + 1);
        if is_items(&text[name]) {
            return Ok(Some(value));
        }
        let (after, delimiter) = skip_whitespace(text, value_at(text, value)?.end);
        if delimiter != Some(b',') {
            return object_end(text, after, delimiter);
        }
        (at, next) = skip_whitespace(text, after + 1);
    }
}

/// Whether the JSON string `name` is `items` (written with or without escapes).
fn is_items(name: &[u8]) -> bool {
    name == b"\"items\""
        || name.contains(&b'\\')
            && serde_json::from_slice::<String>(name).is_ok_and(|name| name == "items")
}

/// `None` when `next`, the byte at `at`, closes the List object and nothing but whitespace follows.
fn object_end(text: &[u8], at: usize, next: Option<u8>) -> Result<Option<usize>, String> {
    match (next, skip_whitespace(text, at + 1)) {
        (Some(b'}'), (_, None)) => Ok(None),
        (Some(b'}'), (end, Some(_))) => Err(format!("trailing characters at byte {end}")),
        _ => Err(format!("expected `,` or `}}` at byte {at}")),
    }
}

/// The first byte of `text` at or after `at` that is not JSON whitespace, and where it is.
fn skip_whitespace(text: &[u8], mut at: usize) -> (usize, Option<u8>) {
    while let Some(&byte) = text.get(at) {
        if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            return (at, Some(byte));
        }
        at += 1;
    }
    (at, None)
}

/// Where the JSON value that begins at byte `at` of `text` is (its strings are not checked as UTF-8).
fn value_at(text: &[u8], at: usize) -> Result<Range<usize>, String> {
    let rest = text.get(at..).unwrap_or_default();
    // One value, not the whole text: what follows it is for the caller to read.
    let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
    match values.next() {
        Some(Ok(IgnoredAny)) => Ok(at..at + values.byte_offset()),
        Some(Err(error)) => Err(format!("{error} of the text from byte {at}")),
        None => Err(format!("EOF while parsing a value at byte {at}")),
    }
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
    struct Answering(&'static [u8]);

    impl Cluster for Answering {
        fn list_json(&self, _: &Lookup<'_>) -> Result<Vec<u8>, LookupError> {
            Ok(self.0.to_vec())
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
        listed_bytes(answer.as_bytes())
    }

    /// The List `answer`, bytes that need not be UTF-8.
    fn listed_bytes(answer: &'static [u8]) -> ListedItems<Sized> {
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
                "list of nvidia.com/v1beta1/DynamoGraphDeployment in x: items: expected a list or null at byte 10"
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

    #[test]
    fn the_items_are_found_where_serde_json_reads_them() {
        /// The List as serde_json reads it whole.
        #[derive(Deserialize)]
        struct Whole {
            #[serde(default, deserialize_with = "crate::parse::null_as_default")]
            items: Vec<Sized>,
        }
        for answer in [
            " { \"items\" :\n[ {\"metadata\": {\"name\": \"a\"}} ,\t{\"metadata\": {\"name\": \"b\"}} ] } ",
            r#"{"items": [ ]}"#,
            r#"{"kind": "List", "metadata": {"items": [1]}, "items": [{"metadata": {"name": "a"}}], "x": {}}"#,
            r#"{"\u0069tems": [{"metadata": {"name": "a"}}]}"#,
            r#"{"items": null, "kind": "List"}"#,
            r#"{"items": [{"metadata": {"name": "a"}},]}"#,
            r#"{"items": [{"metadata": {"name": "a"}} {"metadata": {"name": "b"}}]}"#,
            r#"{"items": [{"metadata": {"name": "a"}}], "kind": }"#,
            r#"{"kind": "List",}"#,
            r#"{"kind": "List" "items": []}"#,
            r#"{"items": [], "items": []}"#,
            r#"{"items": null, "items": null}"#,
            r#"{"items": [{"metadata": {"name": "a"}}]} {}"#,
            r#"{"items": [{"metadata": {"name": "a"}}"#,
            r#"{"items": "#,
            "",
            "null",
        ] {
            let whole = serde_json::from_str::<Whole>(answer).map(|whole| {
                let names: Vec<&str> = whole
                    .items
                    .iter()
                    .map(|s| s.metadata.name.as_str())
                    .collect();
                names.join(" ")
            });
            match (names(all(&listed(answer), false)), whole) {
                (Ok(found), Ok(read)) => assert_eq!(found, read, "{answer}"),
                (Err(_), Err(_)) => {}
                (found, read) => panic!("{answer}: found {found:?}, serde_json read {read:?}"),
            }
        }
    }

    #[test]
    fn a_search_reads_the_text_no_further_than_the_item_of_its_last_mention() {
        let answer = r#"{"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}, {"metadata": {"name": "c"}} oops"#;
        let items = listed(answer);
        assert_eq!(mentioning(&items, Mention::Exact("z")), Ok(String::new()));
        assert_eq!(mentioning(&items, Mention::Exact("b")), Ok("b".into()));
        assert_eq!(
            mentioning(&listed(answer), Mention::Exact("a")),
            Ok("a".into())
        );
        let malformed = |items: Result<String, LookupError>| {
            items.is_err_and(|error| {
                error.to_string().starts_with(
                    "list of nvidia.com/v1beta1/DynamoGraphDeployment in x: items: expected `,` or `]` at byte",
                )
            })
        };
        assert!(malformed(mentioning(&listed(answer), Mention::Exact("c"))));
        assert!(malformed(names(items.all())));
    }

    #[test]
    fn bytes_that_are_not_utf8_fail_the_look_ups_that_read_them() {
        let answer: &[u8] =
            b"{\"items\": [{\"metadata\": {\"name\": \"a\"}}, {\"metadata\": {\"name\": \"b\xff\"}}]}";
        assert_eq!(
            mentioning(&listed_bytes(answer), Mention::Exact("a")),
            Ok("a".into())
        );
        let not_utf8 = "list of nvidia.com/v1beta1/DynamoGraphDeployment in x: item 1: invalid utf-8 sequence of 1 bytes from index 24";
        assert_eq!(
            mentioning(&listed_bytes(answer), Mention::Prefix("b"))
                .unwrap_err()
                .to_string(),
            not_utf8
        );
        for one_pass in [true, false] {
            assert_eq!(
                names(all(&listed_bytes(answer), one_pass))
                    .unwrap_err()
                    .to_string(),
                not_utf8
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
