# shellcheck shell=bash
# Shared bootstrap for scripts/test and scripts/demo. Source it; do not execute it.
# Leaves the current directory at the repository root and the dev venv (.venv) ready,
# with the project installed in editable mode together with its `test` extra.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

VENV="$REPO_ROOT/.venv"
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "[bootstrap] creating $VENV" >&2
    python3 -m venv "$VENV"
fi

# Reinstall only when pyproject.toml changed since the last successful install.
_stamp_file="$VENV/.cohortplan-install.sha256"
_want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
_have="$(cat "$_stamp_file" 2>/dev/null || true)"
if [[ "$_want" != "$_have" ]]; then
    echo "[bootstrap] installing cohortplan[test] into $VENV" >&2
    _log="$VENV/.cohortplan-install.log"
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]' >"$_log" 2>&1; then
        cat "$_log" >&2
        echo "[bootstrap] ERROR: pip install -e '.[test]' failed (log: $_log)" >&2
        exit 1
    fi
    printf '%s\n' "$_want" > "$_stamp_file"
fi
unset _stamp_file _want _have _log
