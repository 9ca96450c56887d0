"""Executes a notebook headless with nbclient and records every update_display_data message.

nbclient applies display updates in place, so the saved notebook only shows the final state; the
record (display id, the text/plain of each update and its size in bytes) goes into the notebook metadata
under "blockdraft_test" so the Java test can assert that live updates really were sent.

With WORKING_DIR the kernel starts there (Jupyter's default is the notebook's folder), and
TIMEOUT sets the per-cell limit in seconds (default 180).

A kernel that never answers its first kernel_info_request is started again, five times at most:
rapaio-jupyter-kernel 3.0.1's LoopThread.start() starts the thread before it sets its `running` flag, so a
shell loop that checks the flag first ends at once and the kernel never answers (one start in three to
twelve here). A healthy start answers in about a second (both kernels, 2 cores), so 30 s tells a hung one:
with 90 s, the hung starts cost the suite 4.5 of its 18 minutes in one run, and three starts left a notebook
failing about once in 27 at one hang in three.

usage: run_notebook.py INPUT.ipynb OUTPUT.ipynb KERNEL_NAME [WORKING_DIR [TIMEOUT]]
"""
import json
import sys

import nbformat
from nbclient import NotebookClient

STARTS = 6


def main(source, target, kernel_name, working_dir=None, timeout="180"):
    resources = {"metadata": {"path": working_dir}} if working_dir else {}
    for start in range(1, STARTS + 1):
        notebook = nbformat.read(source, as_version=4)
        client = NotebookClient(notebook, kernel_name=kernel_name, timeout=int(timeout), startup_timeout=30,
                                allow_errors=False, resources=resources)
        updates = []
        apply_update = client._update_display_id

        def recording_update(display_id, msg, updates=updates, apply_update=apply_update):
            if msg["msg_type"] == "update_display_data":
                updates.append({"display_id": display_id,
                                "text": msg["content"].get("data", {}).get("text/plain", ""),
                                "bytes": len(json.dumps(msg["content"]).encode("utf-8"))})
            return apply_update(display_id, msg)

        client._update_display_id = recording_update
        try:
            client.execute()
            break
        except RuntimeError as failure:
            never_answered = "kernel_info" in str(failure) or "didn't respond" in str(failure)
            if not never_answered or start == STARTS:
                raise
            print(f"run_notebook: kernel start {start} of {STARTS} got no answer ({failure}); starting it again",
                  file=sys.stderr)
        finally:
            notebook.metadata["blockdraft_test"] = {"updates": updates, "kernel_starts": start}
            nbformat.write(notebook, target)


if __name__ == "__main__":
    main(*sys.argv[1:6])
