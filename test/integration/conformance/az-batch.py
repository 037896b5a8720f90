"""Runs several `az` commands in one Python process (the Azure CLI's own entry point, unmodified).

What /usr/bin/az does for one command (azure.cli.__main__: get_default_cli().invoke(argv)), once
per line of stdin: each line is a JSON list of arguments; each answer is one JSON line on the real
stdout, {"code", "stdout", "stderr"}. Every command gets a new CLI object, as a new process would;
what stays is the Python start and the imported modules, which is what makes each `az` cost seconds.
"""
import io
import json
import os
import sys

os.environ.setdefault('AZ_INSTALLER', 'DEB')

from azure.cli.core import get_default_cli  # noqa: E402 (a failing import shows on the real stderr)


class Sink(io.TextIOBase):
    """A stream whose target changes per command (knack's log handlers keep the stream they found)."""

    def __init__(self):
        self.target = io.StringIO()

    def write(self, s):
        return self.target.write(s)

    def flush(self):
        pass

    def isatty(self):
        return False


answers = sys.stdout
out, err = Sink(), Sink()
sys.stdout, sys.stderr = out, err

for line in sys.stdin:
    args = json.loads(line)
    out.target, err.target = io.StringIO(), io.StringIO()
    sys.argv = ['az', *args]  # as the process of `az <args>` would see it
    try:
        code = get_default_cli().invoke(args, out_file=out)
    except SystemExit as e:  # some commands exit directly, as in azure.cli.__main__
        code = e.code if isinstance(e.code, int) else 1
    except Exception as e:  # noqa: BLE001 (reported like az's own unhandled-error exit)
        err.write(f'{type(e).__name__}: {e}\n')
        code = 1
    answers.write(json.dumps({'code': code, 'stdout': out.target.getvalue(), 'stderr': err.target.getvalue()}) + '\n')
    answers.flush()
