/*!
What is inside the parts: decoded prefixes, magic types and loader types,
each worked out at most once per part and only when a condition asks.
*/

use std::cell::OnceCell;

use qmvc_message::archive::{self, Budget, Listing};
use qmvc_message::loader::{self, LoaderType};
use qmvc_message::{magic, Limits, Message, Part, PartKind};

/// How much of a part loader detection looks at before deciding whether
/// the whole part is worth decoding.
const LOADER_PEEK: usize = 64;

/// How much of a text part is looked at to tell whether it is really
/// text.
const DISGUISE_PEEK: usize = 1024;

/// How much of a part the cheap checks decode: zip and loader
/// signatures, disguised text, the magic prefilter. [`magic::PREFIX`]
/// is decoded only when a magic type must really be detected.
const HEAD: usize = 4096;

/// How many decoded bytes tell an archive (its magic).
const ARCHIVE_PEEK: usize = archive::PEEK;

/// Lazily computed facts about one attachment part.
#[derive(Default)]
pub(crate) struct Facts {
    head: OnceCell<qmvc_message::Decoded>,
    prefix: OnceCell<Vec<u8>>,
    types: OnceCell<Vec<&'static str>>,
    loader: OnceCell<Option<LoaderType>>,
    listing: OnceCell<Option<Listing>>,
}

/// The parts of a message with their lazily computed facts.
pub(crate) struct Content<'m, 'a> {
    pub(crate) message: &'m Message<'a>,
    pub(crate) limits: &'m Limits,
    /// What may still be inflated from the message's archives.
    pub(crate) inflate: Budget,
    facts: Vec<Facts>,
}

impl<'m, 'a> Content<'m, 'a> {
    pub(crate) fn new(
        message: &'m Message<'a>,
        limits: &'m Limits,
    ) -> Content<'m, 'a> {
        let facts = message.parts.iter().map(|_| Facts::default()).collect();
        let inflate = Budget::new(limits.archive_bytes);
        Content { message, limits, inflate, facts }
    }

    /// The parts whose content type and loader type are worth knowing,
    /// with their index: attachments, and text leaves that do not look
    /// like text (an unnamed `text/plain` part in base64 can carry a PE
    /// as well as any attachment can).
    pub(crate) fn inspected(
        &self,
    ) -> impl Iterator<Item = (usize, &'m Part<'a>)> + '_ {
        let parts = self.message.parts.iter().enumerate();
        parts.filter(|(index, part)| self.is_inspected(*index, part))
    }

    /// Whether part `index` is one of [`Content::inspected`].
    pub(crate) fn is_inspected(&self, index: usize, part: &Part<'_>) -> bool {
        if part.kind != PartKind::Leaf {
            return false;
        }
        if part.is_attachment() {
            return true;
        }
        let (head, _) = self.head(index);
        let head = head.get(..DISGUISE_PEEK).unwrap_or(head);
        head.contains(&0)
            || loader::plausible(head.get(..LOADER_PEEK).unwrap_or(head))
    }

    fn facts(&self, index: usize) -> Option<&Facts> {
        self.facts.get(index)
    }

    /// The first [`HEAD`] decoded bytes of part `index`, and whether that
    /// is all of it.
    pub(crate) fn head(&self, index: usize) -> (&[u8], bool) {
        let (Some(facts), Some(part)) =
            (self.facts(index), self.message.parts.get(index))
        else {
            return (&[], true);
        };
        let head = facts.head.get_or_init(|| part.decode(HEAD));
        (&head.bytes, !head.truncated)
    }

    /// Whether part `index` starts like an archive (any
    /// [`archive::Kind`], from its magic): from its head when that is
    /// decoded already, else from a decode of only the magic's bytes (a
    /// condition that needs no more of the part does not pay for
    /// decoding the [`HEAD`]).
    pub(crate) fn is_archive(&self, index: usize) -> bool {
        let (Some(facts), Some(part)) =
            (self.facts(index), self.message.parts.get(index))
        else {
            return false;
        };
        match facts.head.get() {
            Some(head) => archive::kind(&head.bytes).is_some(),
            None => archive::kind(&part.decode(ARCHIVE_PEEK).bytes).is_some(),
        }
    }

    /// The members of part `index` when it is an archive (`None`
    /// otherwise), listed once: errormail (`limits=strict`, whether a
    /// bound cut the listing) and badfilename (the names) share it, and
    /// so does the message's inflate budget.
    pub(crate) fn listing(&self, index: usize) -> Option<&Listing> {
        let facts = self.facts(index)?;
        let listing = facts.listing.get_or_init(|| {
            let part = self.message.parts.get(index)?;
            if !self.is_inspected(index, part) || !self.is_archive(index) {
                return None;
            }
            let whole = part.decode(self.limits.scan_size);
            let name = part.filename.as_deref();
            Some(archive::list(&whole.bytes, name, self.limits, &self.inflate))
        });
        listing.as_ref()
    }

    /// The first [`magic::PREFIX`] decoded bytes of part `index`.
    pub(crate) fn prefix(&self, index: usize) -> &[u8] {
        let (Some(facts), Some(part)) =
            (self.facts(index), self.message.parts.get(index))
        else {
            return &[];
        };
        facts.prefix.get_or_init(|| part.decode(magic::PREFIX).bytes)
    }

    /// The magic type of part `index` with its aliases and parents.
    pub(crate) fn types(&self, index: usize) -> &[&'static str] {
        let Some(facts) = self.facts(index) else {
            return &[];
        };
        facts.types.get_or_init(|| magic::detect(self.prefix(index)))
    }

    /// The loader type of part `index`; the whole part is decoded only
    /// when its first bytes look like an executable.
    pub(crate) fn loader(&self, index: usize) -> Option<LoaderType> {
        let facts = self.facts(index)?;
        *facts.loader.get_or_init(|| {
            let (head, _) = self.head(index);
            let peek = head.get(..LOADER_PEEK).unwrap_or(head);
            if !loader::plausible(peek) {
                return None;
            }
            let part = self.message.parts.get(index)?;
            let whole = part.decode(self.limits.scan_size);
            loader::detect(&whole.bytes)
        })
    }
}

/// One part as `qmvc -t` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartDetail {
    /// The part id (`1.2`).
    pub id: String,
    /// Nesting depth.
    pub depth: usize,
    /// Declared type.
    pub declared: String,
    /// Transfer encoding as declared.
    pub encoding: String,
    /// Decoded file name.
    pub filename: Option<String>,
    /// Detected magic type (inspected parts only).
    pub detected: Option<String>,
    /// Loader type (inspected parts only).
    pub loader: Option<String>,
    /// Raw size in bytes.
    pub size: usize,
}

/// Every part of `message` with its detected type and loader type, as
/// `qmvc -t` prints them (detection runs for every inspected part here).
pub fn describe_parts(
    message: &Message<'_>,
    limits: &Limits,
) -> Vec<PartDetail> {
    let content = Content::new(message, limits);
    message
        .parts
        .iter()
        .enumerate()
        .map(|(index, part)| {
            let attachment = content.is_inspected(index, part);
            PartDetail {
                id: part.id.clone(),
                depth: part.depth,
                declared: part.mime_type.clone(),
                encoding: match &part.encoding {
                    qmvc_message::Encoding::Identity => "identity".into(),
                    qmvc_message::Encoding::QuotedPrintable => {
                        "quoted-printable".into()
                    }
                    qmvc_message::Encoding::Base64 => "base64".into(),
                    qmvc_message::Encoding::Unknown(e) => e.clone(),
                },
                filename: part.filename.clone(),
                detected: attachment
                    .then(|| {
                        content.types(index).first().map(|t| t.to_string())
                    })
                    .flatten(),
                loader: attachment
                    .then(|| {
                        content.loader(index).map(|l| l.name().to_string())
                    })
                    .flatten(),
                size: part.body.len(),
            }
        })
        .collect()
}
