"""Ferry's Python agent: loads a function's handler once and serves calls over a Unix socket.

Speaks runtimes/AGENT-PROTOCOL.md: JSON lines both ways, one call at a time. Standard library only.
"""
import importlib.util
import inspect
import io
import json
import os
import shutil
import socket
import sys
import traceback
import types

CAP = int(os.environ.get("FERRY_OUTPUT_CAP_BYTES", "1048576"))
# What this agent does beyond the base protocol, announced in `ready` (see AGENT-PROTOCOL.md).
FEATURES = ["load-from"]


class Final(Exception):
    """Raised by a function whose failure a retry cannot mend (bad input): the call is not retried."""


def install_ferry_module():
    """`from ferry import Final` works in a handler with nothing installed: the agent is the SDK."""
    module = types.ModuleType("ferry", "What a Ferry function can import from its runtime.")
    module.Final = Final
    Final.__module__ = "ferry"
    sys.modules["ferry"] = module


class CappedText(io.TextIOBase):
    """Collects what a handler prints, up to CAP bytes; past it, text is dropped and marked."""

    def __init__(self):
        self.parts = []
        self.size = 0
        self.truncated = False

    def writable(self):
        return True

    def write(self, text):
        data = text.encode("utf-8", "replace")
        room = CAP - self.size
        if len(data) > room:
            self.truncated = True
            data = data[: max(room, 0)]
        if data:
            self.parts.append(data)
            self.size += len(data)
        return len(text)

    def value(self):
        return b"".join(self.parts).decode("utf-8", "replace")


class Channel:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")

    def send(self, msg):
        self.sock.sendall(json.dumps(msg, separators=(",", ":")).encode("utf-8") + b"\n")

    def messages(self):
        for line in self.reader:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except ValueError:
                    print("ferry agent: unreadable line ignored", file=sys.__stderr__)


class Context:
    """A handler's `ctx`: the call it runs, and progress, metrics and log reports while it runs."""

    Final = Final

    def __init__(self, channel, msg):
        self._channel = channel
        self.call_id = msg.get("callId")
        self.attempt = msg.get("attempt")
        self.execution_id = msg.get("executionId")
        self.params = msg.get("params")

    def progress(self, value=None, **fields):
        """A fraction 0..1 (`ctx.progress(0.4)`), or fields such as `ctx.progress(current=3, total=10)`."""
        report = dict(value) if isinstance(value, dict) else float(value) if value is not None else {}
        if fields:
            report = {**(report if isinstance(report, dict) else {}), **fields}
        self._channel.send({"type": "progress", "callId": self.call_id, "value": report})

    def metrics(self, values):
        self._channel.send({"type": "metrics", "callId": self.call_id, "values": dict(values)})

    def log(self, *args):
        self._channel.send({"type": "log", "callId": self.call_id, "line": " ".join(str(a) for a in args)})


def handler_spec(run):
    """`test.py`, `test.py:main` or `python3 test.py` → (file, function name)."""
    words = run.split()
    if len(words) > 1 and not words[0].endswith(".py"):
        words = words[1:]
    target = words[0] if words else "main.py"
    file, _, func = target.partition(":")
    return file, func or "main"


def load_handler(code_dir, run):
    file, func = handler_spec(run)
    path = os.path.join(code_dir, file)
    sys.path.insert(0, code_dir)
    spec = importlib.util.spec_from_file_location("ferry_function", path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load %s" % path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, func, None)
    if not callable(handler):
        raise AttributeError("%s has no function %r" % (file, func))
    try:
        positional = [
            p for p in inspect.signature(handler).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        takes_ctx = len(positional) >= 2 or any(
            p.kind == p.VAR_POSITIONAL for p in inspect.signature(handler).parameters.values()
        )
    except (TypeError, ValueError):
        takes_ctx = True
    return handler, takes_ctx


def as_result(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def serve(channel, handler, takes_ctx, load_error):
    for msg in channel.messages():
        if msg.get("type") == "load":
            code_dir = os.environ.get("FERRY_CODE_DIR", "/ws")
            try:
                if msg.get("from"):
                    # The node staged the code in a read-only folder: a copy here is far cheaper than a `docker cp`.
                    shutil.copytree(str(msg["from"]), code_dir, dirs_exist_ok=True, copy_function=shutil.copy)
                handler, takes_ctx = load_handler(code_dir, str(msg.get("handler") or "main.py"))
                load_error = None
                channel.send({"type": "loaded", "ok": True})
            except BaseException as exc:
                load_error = {"code": "HANDLER_LOAD_FAILED", "message": "%s: %s" % (type(exc).__name__, exc)}
                channel.send({"type": "loaded", "ok": False, "error": load_error})
            continue
        if msg.get("type") != "call":
            print("ferry agent: unknown message type %r ignored" % msg.get("type"), file=sys.__stderr__)
            continue
        call_id = msg.get("callId")
        if load_error is not None:
            channel.send({"type": "result", "callId": call_id, "ok": False, "error": load_error,
                          "stdout": "", "stderr": "", "truncated": False})
            continue
        out, err = CappedText(), CappedText()
        sys.stdout, sys.stderr = out, err
        reply = {"type": "result", "callId": call_id}
        try:
            params = msg.get("params")
            value = handler(params, Context(channel, msg)) if takes_ctx else handler(params)
            reply.update(ok=True, result=as_result(value))
        except BaseException as exc:  # the function's failure, whatever it is, is the call's result
            traceback.print_exc(file=err)
            reply.update(ok=False, error={"code": "FUNCTION_ERROR", "message": "%s: %s" % (type(exc).__name__, exc)})
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                reply["error"]["message"] = "%s raised in the function" % type(exc).__name__
            if isinstance(exc, Final):
                reply["error"]["final"] = True
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        reply.update(stdout=out.value(), stderr=err.value(), truncated=out.truncated or err.truncated)
        channel.send(reply)


def main():
    install_ferry_module()
    channel = Channel(os.environ["FERRY_AGENT_SOCKET"])
    handler, takes_ctx, load_error = None, False, None
    run = os.environ.get("FERRY_HANDLER", "")
    if not run:
        load_error = {"code": "HANDLER_NOT_LOADED", "message": "no function loaded yet"}
        channel.send({"type": "ready", "ok": True, "loaded": False, "pid": os.getpid(), "features": FEATURES})
        serve(channel, None, False, load_error)
        return
    try:
        handler, takes_ctx = load_handler(os.environ.get("FERRY_CODE_DIR", "/ws"), run)
        channel.send({"type": "ready", "ok": True, "pid": os.getpid(), "features": FEATURES})
    except BaseException as exc:
        load_error = {"code": "HANDLER_LOAD_FAILED", "message": "%s: %s" % (type(exc).__name__, exc)}
        channel.send({"type": "ready", "ok": False, "error": load_error, "features": FEATURES})
    serve(channel, handler, takes_ctx, load_error)


if __name__ == "__main__":
    main()
