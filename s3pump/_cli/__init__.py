"""The ``s3pump`` command line, built on the public API only (``from .. import`` of names in
``s3pump.__all__``; a test reads the imports).

- :mod:`.options`: the verbs and their options (argparse), and the checks of values;
- :mod:`.commands`: one function per verb, each opening one pump;
- :mod:`.output`: what is printed, summaries and fatal errors, and the exit codes;
- :mod:`.main`: ``main(argv)`` and the one mapping from an exception to an exit code;
- :mod:`.signals`: clean stops on SIGINT, SIGTERM and SIGHUP (the library installs none);
- :mod:`.logs`, :mod:`.redact`: logging to stderr with secrets removed.

Exit codes: 0 all done; 1 some objects failed or were refused; 2 usage or fatal error
(bad URI, no such bucket, access denied, disk full, stdout unwritable); 130, 143, 129 stopped
by SIGINT, SIGTERM, SIGHUP (cleanly: see :mod:`.signals`). With ``--json`` stdout carries
exactly one JSON document (``ls`` prints JSON lines), errors and interruptions included.
Heavy imports happen only once a command runs, so ``s3pump --help`` starts fast.
"""

from .main import main

__all__ = ["main"]
