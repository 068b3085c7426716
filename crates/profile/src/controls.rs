/*!
The registry of control files: one entry each, driving loading, the built-in
defaults and the test that the man page lists every file.
*/

/// A control file of the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Control {
    /// `filters`: the CAR triples.
    Filters,
    /// `mailheaders`: errormail settings.
    MailHeaders,
    /// `badsubjects`.
    BadSubjects,
    /// `badbodytexts`.
    BadBodyTexts,
    /// `badfilenames`.
    BadFilenames,
    /// `badmimetypes`.
    BadMimeTypes,
    /// `badloadertypes`.
    BadLoaderTypes,
    /// `noscantypes`.
    NoScanTypes,
    /// `scanners`: the virus scanners, each defined in
    /// `scanners.d/ENGINE.yaml`.
    Scanners,
    /// `injector`: the program that sends notifications.
    Injector,
    /// `guard`: the From address of notifications.
    Guard,
    /// `language`: the default language of notifications.
    Language,
    /// `limits`: resource bounds.
    Limits,
}

/// Every control file.
pub const CONTROLS: &[Control] = &[
    Control::Filters,
    Control::MailHeaders,
    Control::BadSubjects,
    Control::BadBodyTexts,
    Control::BadFilenames,
    Control::BadMimeTypes,
    Control::BadLoaderTypes,
    Control::NoScanTypes,
    Control::Scanners,
    Control::Injector,
    Control::Guard,
    Control::Language,
    Control::Limits,
];

impl Control {
    /// The file name under `control/`.
    pub fn name(self) -> &'static str {
        match self {
            Control::Filters => "filters",
            Control::MailHeaders => "mailheaders",
            Control::BadSubjects => "badsubjects",
            Control::BadBodyTexts => "badbodytexts",
            Control::BadFilenames => "badfilenames",
            Control::BadMimeTypes => "badmimetypes",
            Control::BadLoaderTypes => "badloadertypes",
            Control::NoScanTypes => "noscantypes",
            Control::Scanners => "scanners",
            Control::Injector => "injector",
            Control::Guard => "guard",
            Control::Language => "language",
            Control::Limits => "limits",
        }
    }

    /// The built-in default: `control-defaults/NAME`, compiled in.
    pub fn default_text(self) -> &'static str {
        match self {
            Control::Filters => {
                include_str!("../../../control-defaults/filters")
            }
            Control::MailHeaders => {
                include_str!("../../../control-defaults/mailheaders")
            }
            Control::BadSubjects => {
                include_str!("../../../control-defaults/badsubjects")
            }
            Control::BadBodyTexts => {
                include_str!("../../../control-defaults/badbodytexts")
            }
            Control::BadFilenames => {
                include_str!("../../../control-defaults/badfilenames")
            }
            Control::BadMimeTypes => {
                include_str!("../../../control-defaults/badmimetypes")
            }
            Control::BadLoaderTypes => {
                include_str!("../../../control-defaults/badloadertypes")
            }
            Control::NoScanTypes => {
                include_str!("../../../control-defaults/noscantypes")
            }
            Control::Scanners => {
                include_str!("../../../control-defaults/scanners")
            }
            Control::Injector => {
                include_str!("../../../control-defaults/injector")
            }
            Control::Guard => include_str!("../../../control-defaults/guard"),
            Control::Language => {
                include_str!("../../../control-defaults/language")
            }
            Control::Limits => {
                include_str!("../../../control-defaults/limits")
            }
        }
    }
}
