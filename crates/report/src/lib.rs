/*!
qmvc's reports: what turns the logs of a layer (qmvc-log(5)) into
static pages an administrator reads every morning.

This crate owns
- counting what the logs hold in memory that does not grow with the log
  ([`stats`] keeps bounded counters and histograms); the records
  themselves, their reader and their archiving belong to `qmvc-log`,
- the month databases that tie days to months ([`monthdb`]),
- the pages: self-contained HTML with inline CSS and SVG, a Content
  Security Policy that forbids every script, and every value escaped
  ([`html`]), written atomically ([`output`]) under names fixed in one
  place ([`names`]),
- one module per program, each with a `main(args) -> exit code`:
  [`log2html`] (qmvclog2html), [`virulator`], [`month`] (qmvcmonth, whose
  `-a` is `qmvc_log::archive`), [`calendar`] (webcalendar) and [`portal`]
  (qmvcportal),
- the command line, exit codes and atomic output that every aux program
  shares ([`cli`], [`output`]).

It does not write qmvc's logs (`qmvc-log` does, for qmvc) nor filter
mail; qmail's admin files are qmvc-qmail's, blockvirussender is
qmvc-blocksender.
The binaries under `crates/aux/` are thin: they call `main` here.
*/

pub mod calendar;
pub mod cli;
pub mod dates;
pub mod html;
pub mod log2html;
pub mod month;
pub mod monthdb;
pub mod names;
pub mod output;
pub mod portal;
pub mod stats;
pub mod virulator;
