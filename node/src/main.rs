//! The `trustmesh` binary.

fn main() -> std::process::ExitCode {
    trustmesh_node::cli::main()
}
