# Sourced by scripts/*: make sure .venv exists and holds the project with its dev and ray
# extras (the Ray executor's tests run a local Ray cluster).
# Reinstalls when pyproject.toml changed since the last install.
set -euo pipefail
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "creating .venv with $($PY --version)" >&2
    "$PY" -m venv .venv
fi
stamp=.venv/.s3pump-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing s3pump and its dev tools into .venv" >&2
    if ! { .venv/bin/python -m pip install --upgrade pip &&
           .venv/bin/python -m pip install -e '.[dev,ray]'; } > .venv/install.log 2>&1; then
        tail -n 30 .venv/install.log >&2
        echo "install failed; full log in .venv/install.log" >&2
        exit 2
    fi
    echo "$want" > "$stamp"
fi
