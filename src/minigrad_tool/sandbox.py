"""Engine code may write only where minigrad lets it: Landlock, on Linux 5.13 and later.

A child that runs engine code on its own (discovery, the battery, the probes)
works in a scratch folder (:func:`minigrad_tool.isolation.enter_scratch`).  On a
kernel with Landlock (no root needed) it is also confined: it may read
anything, but create, write, truncate, rename or remove files only under the
scratch folder, minigrad's bytecode cache and ``/dev`` (``/dev/null``).  An
engine that renders a graph into an absolute path, or logs into your project,
gets a PermissionError there instead of writing into your tree.  Where the
kernel has no Landlock this does nothing, and :func:`confine_writes` says so.

Your tests are not confined: pytest runs them where you run them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Sequence

__all__ = ["confine_writes"]

# Linux's syscall numbers, the same on x86_64 and aarch64 (asm-generic), and Landlock's ABI.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
# Filesystem rights that change something (include/uapi/linux/landlock.h).  Execute and
# read rights are not handled, so they stay allowed everywhere.
_WRITE_FILE = 1 << 1
_WRITES_V1 = _WRITE_FILE | sum(1 << bit for bit in range(4, 13))  # remove, make dir/file/...
_REFER = 1 << 13  # ABI 2: link or rename across folders
_TRUNCATE = 1 << 14  # ABI 3


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _writes(abi: int) -> int:
    rights = _WRITES_V1
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    return rights


def confine_writes(allowed: Sequence[str]) -> bool:
    """In this process and what it forks: writes only beneath the `allowed` folders.  True if
    the kernel enforces it, False where it has no Landlock (nothing changes then)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        abi = libc.syscall(_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return False
    if abi < 1:
        return False
    rights = _writes(abi)
    attr = _RulesetAttr(rights)
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.sizeof(attr), 0)
    if ruleset < 0:
        return False
    try:
        for folder in allowed:
            with contextlib.suppress(OSError):
                fd = os.open(folder, os.O_PATH | os.O_CLOEXEC)
                try:
                    rule = _PathBeneathAttr(rights, fd)
                    libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
                finally:
                    os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        return bool(libc.syscall(_RESTRICT_SELF, ruleset, 0) == 0)
    finally:
        os.close(ruleset)
