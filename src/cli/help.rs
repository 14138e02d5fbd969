//! The examples shown by `--help`, one text per command, and the exit codes
//! (top level and `check`): what a new user types first, what a script tests.

pub const MAIN: &str = "\
Examples:
  replisim init my.toml                 a starter scenario: every field at its default
  replisim run                          simulate the embedded default scenario
  replisim run scenarios/grs.toml       simulate a scenario file
  replisim validate my.toml             check a file without running it
  replisim regions                      the Azure regions a scenario can name (region = \"westeurope\")
  replisim completions bash > ~/.local/share/bash-completion/completions/replisim

Exit codes:
  0    success (for check: every expectation holds)
  1    an error: a bad scenario, a file that cannot be read or written, analyze with no exact chain
  2    a usage error: an unknown flag or subcommand, a missing argument
  3    check: an expectation fails or is not established (its interval unreliable)
  130  interrupted by Ctrl-C (143 by SIGTERM); what finished is written, marked partial";

pub const RUN: &str = "\
Examples:
  replisim run                                     the embedded default scenario
  replisim run scenarios/zrs.toml --trials 1000    fewer trials, a quicker look
  replisim run scenarios/zrs.toml --set failures.disk.afr=2%
  replisim run scenarios/zrs.toml --json - --quiet | jq '.options[0].durability'
  replisim run scenarios/zrs.toml --shard 0/4 --out parts/   one part of four, for `merge`

The table goes to stdout (to stderr with `--json -`, so that stdout is the JSON alone); progress,
warnings, \"wrote ...\" and the wall time go to stderr.";

pub const CHECK: &str = "\
Examples:
  replisim check scenarios/default.toml
  replisim check scenarios/zrs.toml --trials 1000 --format json

Exit codes:
  0    every expectation holds (or holds with its interval straddling the bound)
  1    an error (a bad scenario, no [expect] section, ...)
  3    an expectation fails, or is not established: a durability figure whose interval failed
       its tail diagnostics (docs/method.md); more trials may settle it";

pub const SWEEP: &str = "\
Examples:
  replisim sweep scenarios/zrs.toml --set failures.disk.afr=1%,2%,4%
  replisim sweep scenarios/zrs.toml --set failures.disk.afr=1%,2% --set detection=15m,1h";

pub const COMPARE: &str = "\
Examples:
  replisim compare scenarios/default.toml --options LRS,ZRS
  replisim compare scenarios/grs.toml --format json --quiet";

pub const MERGE: &str = "\
Examples:
  replisim merge parts/part-*-of-4.json --out results/default
  replisim merge parts/part-*-of-4.json --json - > summary.json";

pub const ANALYZE: &str = "\
Examples:
  replisim analyze scenarios/exact.toml
  replisim analyze scenarios/exact.toml --set failures.disk.afr=3% --format json
  replisim analyze scenarios/default.toml     lists everything that keeps it from a chain";

pub const TRACE: &str = "\
Examples:
  replisim trace scenarios/facility-fire.toml
  replisim trace scenarios/grs.toml --trial 7 --option GRS --all";

pub const SERVE: &str = "\
Examples:
  replisim serve                                 http://127.0.0.1:8080/
  replisim serve scenarios/grs.toml --port 0     any free port";

pub const VALIDATE: &str = "\
Examples:
  replisim validate my.toml
  replisim validate my.toml --set topology.zones=2 --format json

Every mistake of the file is shown at once, each with its line; the exit status is 1 if any.";

pub const COMPLETIONS: &str = "\
Examples:
  replisim completions bash > ~/.local/share/bash-completion/completions/replisim
  replisim completions zsh > ~/.zfunc/_replisim      (with fpath+=~/.zfunc in ~/.zshrc)
  replisim completions fish > ~/.config/fish/completions/replisim.fish";

pub const REGIONS: &str = "\
Examples:
  replisim regions                   the table: geography, zones, pair and remarks of each region
  replisim regions --format json | jq -r '.regions[] | select(.geography == \"Europe\") | .name'
  replisim validate my.toml --set region=northeurope   a scenario on one of them

A scenario names one with region = \"westeurope\": it gets that region and its pair, with their
geographies and zones; an option whose copies would leave the geography is refused unless
residency.allow_cross_geography = true.";

pub const SCHEMA: &str = "\
Examples:
  replisim schema scenario.schema.json   write it beside your scenarios
  replisim schema | jq '.properties | keys'   the top-level fields

The repository ships it as docs/scenario.schema.json, and its .taplo.toml maps scenarios/*.toml to
it. For a scenario of your own, write `#:schema ./scenario.schema.json` on its first line: taplo and
VS Code's Even Better TOML then complete field names and flag unknown fields, wrong types and
malformed durations, sizes and bandwidths as you type. Checks across fields (a zone that does not
exist, a level narrower than another) are `replisim validate`'s.";

pub const INIT: &str = "\
Examples:
  replisim init my.toml                          every field at its default, commented
  replisim init my.toml --option LRS --option GRS   only these options
  replisim init - | less                         the starter on stdout";
