/*!
`-v PREPEND` and `-v-`: the original recipient of a virtual domain, as the
logs show it (field 9 of qmvc.log).
*/

use crate::mail::Mail;
use crate::util::{Dir, Layer};

/// qmail's environment for `virtualdomains: example.com:example.com`.
fn virtual_env(dir: &Dir) {
    dir.set_env("USER", "example.com");
    dir.set_env("LOCAL", "example.com-joe");
    dir.set_env("EXT", "joe");
    dir.set_env("RECIPIENT", "example.com-joe@example.com");
}

qmvctest!(prepend_is_removed, |dir: Dir| {
    virtual_env(&dir);
    dir.run(&["-v", "example.com-"], &Mail::new().bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).recipient(), "joe@example.com");
});

qmvctest!(dash_means_user_dash, |dir: Dir| {
    virtual_env(&dir);
    dir.run(&["-v-"], &Mail::new().bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::System).recipient(), "joe@example.com");
});

qmvctest!(grouped_with_user_mode, |dir: Dir| {
    virtual_env(&dir);
    dir.run(&["-uv-"], &Mail::new().bytes()).assert_code(0);
    assert_eq!(dir.last_log(Layer::User).recipient(), "joe@example.com");
    assert!(dir.log(Layer::System).is_empty());
});

qmvctest!(without_v_the_recipient_is_unchanged, |dir: Dir| {
    virtual_env(&dir);
    dir.run(&[], &Mail::new().bytes()).assert_code(0);
    assert_eq!(
        dir.last_log(Layer::System).recipient(),
        "example.com-joe@example.com"
    );
});

qmvctest!(other_prefix_leaves_the_recipient, |dir: Dir| {
    virtual_env(&dir);
    dir.run(&["-v", "other.org-"], &Mail::new().bytes()).assert_code(0);
    assert_eq!(
        dir.last_log(Layer::System).recipient(),
        "example.com-joe@example.com"
    );
});

qmvctest!(original_recipient_in_qmvc_rep, |dir: Dir| {
    virtual_env(&dir);
    dir.filters("badsubject ; block ; ; ;\n");
    dir.control(Layer::System, "badsubjects", "spam\n");
    let msg = Mail::new().subject("spam").bytes();
    dir.run(&["-v-"], &msg).assert_code(99);
    let reports = dir.reports(Layer::System);
    assert_eq!(reports[0]["recipient"].as_str(), Some("joe@example.com"));
});
