/*!
`qmvctest!`: one end-to-end test with its own hermetic [`crate::util::Dir`].
*/

/// `qmvctest!(name, |dir: Dir| { ... })` defines the `#[test]` `name`,
/// which runs the closure with a fresh temporary directory named after
/// the test.
#[macro_export]
macro_rules! qmvctest {
    ($name:ident, $fun:expr) => {
        #[test]
        fn $name() {
            let dir = $crate::util::Dir::new(stringify!($name));
            let fun: fn($crate::util::Dir) = $fun;
            fun(dir);
        }
    };
}
