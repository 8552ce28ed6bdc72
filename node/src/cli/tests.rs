use clap::CommandFactory;

use super::Cli;

#[test]
fn the_command_line_is_consistent() {
    // Clap's own checks (unique flags, valid defaults) over every subcommand.
    Cli::command().debug_assert();
}
