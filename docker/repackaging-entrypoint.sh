#!/bin/sh
# Entrypoint of the repackaging image (docker/repackaging.dockerfile). It accepts the command lines users of
# junjiem/dify-plugin-repackaging already type:
#   docker run --rm -v "$PWD/dify-plugin:/app/dify-plugin" IMAGE [-p platform] [-s suffix] market junjiem mcp_sse 0.0.1
# and runs, with the same meaning,
#   $DIFY_PLUGIN_DAEMON_CLI repackage market junjiem mcp_sse 0.0.1 [options] --output-dir /app/dify-plugin
#
# - The short options -p and -s (the reference's getopts "p:s:R") may come before or after the form; they are
#   passed on as --platform and --suffix. The CLI's long options pass through unchanged, in the user's order.
# - -R ("allow pre-releases") becomes the CLI's --pre (once, however often it is given). Rejecting it would break
#   scripted reference command lines for no gain; ignoring it would resolve differently from what was asked.
# - The output goes to ${OUTPUT_DIR:-/app/dify-plugin} (the folder to mount) unless the user passed -o or
#   --output-dir themselves; it is never passed twice.
# - `local <file>`: a relative path that does not exist relative to the current directory but does in that
#   folder is resolved there, so `local foo.difypkg` and `local ./foo.difypkg` find the package the user put in
#   the mounted folder whatever the working directory is.
# - DIFY_PLUGIN_DAEMON_CLI (default dify-plugin-daemon) is split on whitespace, so it may name an interpreter
#   and a script ("node /app/clients/cli/bin.mjs"); the CLI is exec'd, so it receives signals (tini forwards
#   them to this process) and its exit code is the container's.
set -eu

OUTPUT_DIR=${OUTPUT_DIR:-/app/dify-plugin}
CLI=${DIFY_PLUGIN_DAEMON_CLI:-dify-plugin-daemon}

usage() {
  cat <<EOF
usage: docker run --rm -v "\$PWD/dify-plugin:$OUTPUT_DIR" IMAGE [options] <form> <arguments> [options]

Repackages a Dify plugin with its Python dependencies as wheels, so that it installs offline.

forms:
  market <author> <name> <version>                       from the Dify Marketplace
                                                         e.g. market junjiem mcp_sse 0.0.1
  github <owner/repo | repo URL> <tag> <asset.difypkg>   a GitHub release asset
                                                         e.g. github junjiem/dify-plugin-tools-dbquery v0.0.2 db_query.difypkg
  local <file.difypkg>                                   a package file; a relative path is also looked up in
                                                         $OUTPUT_DIR, e.g. local db_query.difypkg

options (before or after the form):
  -p, --platform <tag>        pip platform tag of the target machine, repeatable or comma-separated
                              (e.g. manylinux2014_x86_64, manylinux2014_aarch64); default: this machine
  -s, --suffix <suffix>       suffix of the output name (default: offline)
  -R, --pre                   allow pre-release dependency versions
      --python-version <X.Y>  Python version to fetch wheels for (default: the plugin's declared one)
  -o, --output-dir <dir>      where to write the result (default: $OUTPUT_DIR)
      --sign-key <pem file>   sign the result with this private key
  -c, --category <category>   authorized category written when signing (default: community)
      --json                  print the result as JSON

The result, <original name>-<suffix>.difypkg, is written into $OUTPUT_DIR: mount a host folder there
(-v "\$PWD/dify-plugin:$OUTPUT_DIR"); put a package for the local form there too.
Environment: MARKETPLACE_API_URL, GITHUB_API_URL, PIP_MIRROR_URL, PIP_EXTRA_ARGS, REPACKAGE_CACHE_DIR,
MAX_PLUGIN_PACKAGE_SIZE.
EOF
}

fail() {
  printf 'repackaging: %s\n' "$1" >&2
  printf "run with --help for usage\n" >&2
  exit 2
}

if [ "$#" -eq 0 ]; then
  usage >&2
  exit 2
fi

form=""          # market | github | local
local_done=0     # the local form's path has been seen (only that one is resolved)
output_given=0   # the user chose the output directory
ended=0          # after "--": everything is an operand
pre_added=0

# Rewrite the arguments in place: each of the $# original arguments is shifted off the front and its
# translation appended at the back, so that after n steps "$@" holds exactly the translated list.
n=$#
i=0
while [ "$i" -lt "$n" ]; do
  arg=$1
  shift
  i=$((i + 1))

  if [ "$ended" -eq 0 ]; then
    case $arg in
      --)
        ended=1
        # An --output-dir after "--" would be an operand: add it now, it cannot be given any more.
        if [ "$output_given" -eq 0 ]; then set -- "$@" --output-dir "$OUTPUT_DIR"; output_given=1; fi
        set -- "$@" --
        continue
        ;;
      -h | --help)
        if [ -z "$form" ]; then usage; exit 0; fi
        set -- "$@" "$arg" # the CLI prints the form's own help
        continue
        ;;
      -R | --pre)
        if [ "$pre_added" -eq 0 ]; then set -- "$@" --pre; pre_added=1; fi
        continue
        ;;
      -p | -s | -o | -c | --platform | --suffix | --output-dir | --python-version | --sign-key | --category)
        [ "$i" -lt "$n" ] || fail "option $arg needs a value"
        value=$1
        shift
        i=$((i + 1))
        case $arg in
          -p) arg=--platform ;;
          -c) arg=--category ;;
          -s) arg=--suffix ;;
          -o | --output-dir) arg=--output-dir; output_given=1 ;;
        esac
        if [ "$arg" = --platform ]; then
          # Some forks of the reference take a comma-separated list: one --platform each.
          for platform in $(printf '%s' "$value" | tr ',' ' '); do set -- "$@" --platform "$platform"; done
          continue
        fi
        set -- "$@" "$arg" "$value"
        continue
        ;;
      -p?*)
        for platform in $(printf '%s' "${arg#-p}" | tr ',' ' '); do set -- "$@" --platform "$platform"; done
        continue
        ;;
      -s?*) set -- "$@" --suffix "${arg#-s}"; continue ;;
      -o?*) set -- "$@" --output-dir "${arg#-o}"; output_given=1; continue ;;
      --output-dir=*) set -- "$@" "$arg"; output_given=1; continue ;;
      -?*)
        set -- "$@" "$arg" # --json, --platform=X, ... (and anything unknown: the CLI rejects it by name)
        continue
        ;;
    esac
  fi

  # An operand: the form first, then the form's own arguments.
  if [ -z "$form" ]; then
    case $arg in
      market | github | local) form=$arg ;;
      help) usage; exit 0 ;;
      *) fail "unknown form '$arg': expected market, github or local" ;;
    esac
    continue
  fi
  if [ "$form" = local ] && [ "$local_done" -eq 0 ]; then
    local_done=1
    case $arg in
      /*) ;;
      *)
        if [ ! -e "$arg" ]; then
          relative=$arg
          while :; do
            case $relative in
              ./*) relative=${relative#./} ;;
              *) break ;;
            esac
          done
          if [ -n "$relative" ] && [ -e "$OUTPUT_DIR/$relative" ]; then arg=$OUTPUT_DIR/$relative; fi
        fi
        ;;
    esac
  fi
  set -- "$@" "$arg"
done

[ -n "$form" ] || fail "no form given: expected market, github or local"
if [ "$output_given" -eq 0 ]; then set -- "$@" --output-dir "$OUTPUT_DIR"; fi

# $CLI is split on whitespace on purpose (see the top); no globbing of its words.
set -f
IFS=' 	
'
# shellcheck disable=SC2086
exec $CLI repackage "$form" "$@"
