/*!
`limits`: resource bounds, one `key=value` a line.
*/

use std::time::Duration;

/// Everything `limits` sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Bounds for the message model.
    pub message: qmvc_message::Limits,
    /// How long a badbodytexts command may run.
    pub command_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            message: qmvc_message::Limits::default(),
            command_timeout: Duration::from_secs(30),
        }
    }
}
