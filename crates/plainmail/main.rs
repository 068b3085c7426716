/*!
plainmail: forwards the readable text of a message to an address (stub).
*/

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(111)
}
