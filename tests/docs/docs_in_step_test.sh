#!/usr/bin/env bash
# The operator's references in docs/ stay in step with the binary. Fails when:
#  - a command `provbox help` lists has no section in docs/cli.md (a heading
#    naming `provbox COMMAND`), or an --option of its usage line is missing
#    from that section; or a global option or a PROVBOX_* variable that the
#    help names is missing from docs/cli.md;
#  - an option of `provbox serve` is missing from docs/configuration.md;
#  - a key the configuration parser accepts is missing from
#    docs/configuration.md, written as `dotted.key` (backquoted);
#  - a ```yaml example anywhere in docs/ fails `provbox config check`.
#
# Usage: docs_in_step_test.sh PROVBOX SOURCE_DIR
set -euo pipefail

provbox=$(realpath "${1:?usage: docs_in_step_test.sh PROVBOX SOURCE_DIR}")
source_dir=$(realpath "${2:?usage: docs_in_step_test.sh PROVBOX SOURCE_DIR}")
cli_md=$source_dir/docs/cli.md
config_md=$source_dir/docs/configuration.md
config_cpp=$source_dir/server/config.cpp
for f in "$cli_md" "$config_md" "$config_cpp"; do
  [[ -f $f ]] || { echo "FAIL: $f does not exist"; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"  # config check and help touch nothing, but stay out of the tree

problems=()
problem() { problems+=("$1"); }

# The lines of a Markdown file's section: from the first heading matching the
# extended regex $2 down to the next heading of the same or a higher level.
# Lines inside ``` fences are never headings (shell comments start with #).
section() {
  awk -v pattern="$2" '
    /^```/ { fence = !fence }
    !fence && /^#+ / {
      level = index($0, " ") - 1
      if (inside && level <= inside_level) exit
      if (!inside && $0 ~ pattern) { inside = 1; inside_level = level }
    }
    inside { print }
  ' "$1"
}

# Whether text $1 holds option $2 as a whole word (--key, not --keys).
has_option() { grep -qE -- "${2}([^a-z-]|$)" <<<"$1"; }
# The --options written in text $1, one per line.
options_in() { grep -oE -- '--[a-z][a-z-]*' <<<"$1" | sort -u; }

# ---- commands ---------------------------------------------------------------
help_text=$("$provbox" help)
commands=0
while IFS= read -r line; do
  # The command's words are the leading lower-case words of its usage line:
  # "  device add MAC --model M" -> "device add", "  bump [MAC...]" -> "bump".
  words=()
  for token in $line; do
    [[ $token =~ ^[a-z][a-z-]*$ ]] || break
    words+=("$token")
  done
  command="${words[*]}"
  [[ -n $command ]] || { problem "cannot read a command from the help line '$line'"; continue; }
  commands=$((commands + 1))
  text=$(section "$cli_md" "^#+ .*provbox ${command}([^a-z-]|$)")
  if [[ -z $text ]]; then
    problem "docs/cli.md has no section (a heading naming 'provbox $command') for: $line"
    continue
  fi
  mapfile -t options < <(options_in "$line")
  for option in "${options[@]}"; do
    has_option "$text" "$option" ||
      problem "docs/cli.md, section 'provbox $command', does not mention $option (help: $line)"
  done
  if [[ $command == serve ]]; then
    for option in "${options[@]}"; do
      has_option "$(cat "$config_md")" "$option" ||
        problem "docs/configuration.md does not mention serve's $option"
    done
  fi
done < <(sed -n '/^commands:/,$p' <<<"$help_text" | grep -E '^  [a-z]')
((commands >= 10)) || problem "read only $commands commands from 'provbox help'; did its layout change?"

# Global options (the usage line) and the environment variables the help names.
usage_line=$(grep -m1 '^usage:' <<<"$help_text" || true)
[[ -n $usage_line ]] || problem "'provbox help' has no 'usage:' line"
mapfile -t options < <(options_in "$usage_line")
for option in "${options[@]}"; do
  has_option "$(cat "$cli_md")" "$option" || problem "docs/cli.md does not mention the global option $option"
done
mapfile -t variables < <(grep -oE 'PROVBOX_[A-Z_]+' <<<"$help_text" | sort -u)
for variable in "${variables[@]}"; do
  grep -q "$variable" "$cli_md" || problem "docs/cli.md does not mention $variable"
done

# ---- configuration keys -----------------------------------------------------
# The parser itself says which keys it accepts: an unknown key is refused with
# "unknown key 'K' in SECTION (known: a, b, c)". Probing each known key with a
# mapping tells sections (which answer with their own known list) from leaves.
# (A `provbox config keys` command printing every dotted key would make this
# simpler; until there is one, this asks `config check`.)
probe_key=provbox_docs_probe
known_keys() {  # $1: dotted path of a section, "" for the top level
  local inner="{$probe_key: 1}" parts i
  if [[ -n $1 ]]; then
    IFS=. read -r -a parts <<<"$1"
    for ((i = ${#parts[@]} - 1; i >= 0; i--)); do inner="{${parts[i]}: $inner}"; done
  fi
  local message
  printf '%s\n' "$inner" >probe.yaml
  message=$("$provbox" config check probe.yaml 2>&1 >/dev/null || true)
  sed -n "s/.*unknown key '$probe_key' in .* (known: \(.*\))\$/\1/p" <<<"$message" | tr -d ' ' | tr ',' '\n'
}
config_keys=()  # leaves, dotted
config_names=()  # every name, sections included, undotted
discover() {  # $1: dotted path of a section; $2: depth
  local name path children
  ((${2} <= 5)) || { problem "configuration sections nest deeper than 5 at '$1'"; return; }
  for name in $(known_keys "$1"); do
    config_names+=("$name")
    path=${1:+$1.}$name
    children=$(known_keys "$path")
    if [[ -n $children ]]; then
      discover "$path" $(($2 + 1))
    else
      config_keys+=("$path")
    fi
  done
}
discover "" 1
if ((${#config_keys[@]} < 5)); then
  problem "found only ${#config_keys[@]} configuration keys by probing 'provbox config check'; did its 'unknown key ... (known: ...)' message change?"
fi
for key in "${config_keys[@]}"; do
  grep -qF "\`$key\`" "$config_md" || problem "docs/configuration.md does not document the configuration key \`$key\`"
done

# Cross-check against the source: every handler name in parse_config (the
# `{"name", [&](...) {` entries of its key tables) must have been found by
# probing, so a key the probe cannot reach still fails this test.
source_names=$(awk '/^config parse_config\(/ { inside = 1 } inside && /^}/ { exit } inside' "$config_cpp" |
  sed -nE 's/^[[:space:]]*\{"([a-z_]+)",[[:space:]]*(\[.*)?$/\1/p' | sort -u)
[[ -n $source_names ]] || problem "found no key handlers ({\"name\", [&]...) in parse_config in server/config.cpp; update this test"
for name in $source_names; do
  printf '%s\n' "${config_names[@]}" | grep -qxF "$name" ||
    problem "server/config.cpp handles the key '$name' but probing 'provbox config check' did not find it"
done

# ---- YAML examples ----------------------------------------------------------
examples=0
for md in "$source_dir"/docs/*.md; do
  awk -v prefix="$work/example-$(basename "$md" .md)-" '
    /^```yaml/ { n++; file = prefix n ".yaml"; inside = 1; next }
    /^```/ { inside = 0 }
    inside { print > file }
  ' "$md"
done
for example in "$work"/example-*.yaml; do
  [[ -e $example ]] || continue
  examples=$((examples + 1))
  "$provbox" config check "$example" >/dev/null 2>check.err ||
    problem "a YAML example in docs/$(basename "$example" | sed -E 's/^example-(.*)-[0-9]+\.yaml$/\1.md/') fails config check: $(cat check.err)"
done

# ---- verdict ----------------------------------------------------------------
if ((${#problems[@]})); then
  printf 'FAIL: %s\n' "${problems[@]}"
  echo "${#problems[@]} problem(s): the docs are out of step with the binary"
  exit 1
fi
echo "ok: $commands commands, ${#config_keys[@]} configuration keys, $examples YAML examples in step"
