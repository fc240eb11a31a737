"""Runs a command in a real pseudo-terminal (for the CLI's terminal tests).

usage: python3 pty-driver.py ROWS COLS -- COMMAND [ARGS...]

The command's stdin, stdout and stderr are the terminal (so it is the controlling terminal, and a
Ctrl-C byte written to it becomes SIGINT). Bytes on this driver's stdin are typed into the terminal;
everything the terminal shows is copied to this driver's stdout. Exits with the command's exit code,
or 128 + the signal number if a signal ended it.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios


def main() -> int:
    rows, cols = int(sys.argv[1]), int(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1 :]
    pid, master = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execvp(command[0], command)
    stdin_open = True
    out = sys.stdout.buffer
    while True:
        watched = [master] + ([0] if stdin_open else [])
        readable, _, _ = select.select(watched, [], [], 0.05)
        if master in readable:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            out.write(data)
            out.flush()
        if stdin_open and 0 in readable:
            data = os.read(0, 65536)
            if data:
                os.write(master, data)
            else:
                stdin_open = False
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
