"""An interpreter for the generic-form IR that ``normlir-opt
--convert-norm-to-gpu --mlir-print-op-generic`` emits, so that the GPU
lowering's kernels can be run, and their memory accesses checked, on a
machine without a GPU.

Usage::

    module = parse(text)                    # generic-form MLIR
    x = Buffer("x", (2, 3), "f32", data)    # one per function argument
    y = Buffer("y", (2, 3), "f32")          # uninitialized
    machine = run_function(module, "k", [x, y])
    assert not machine.hazards
    y.array()                               # the values, shaped

Ops: the subset the lowering emits (arith, math.fma/absf/sqrt, scf.for/if,
memref.load/store/dim/collapse_shape/expand_shape, vector.load/store/
extract/broadcast/reduction/from_elements, gpu.launch/barrier/shuffle/
alloc/dealloc, func.func/return). Parsing raises :class:`Unsupported` for
any other op, attribute value, type or layout (running, for what depends
on values: a per-thread grid size, a nested launch): nothing is skipped.

Execution model: every value is a NumPy array with one entry per thread
(host code is one thread), the threads of all blocks of a launch run each
op together, and structured control flow (scf.if, scf.for with per-thread
bounds) runs under a mask of the active threads; only active threads load,
store, divide and synchronize. Arithmetic is done in the element type
(f32 ops round to f32; bf16 values are f32 rounded to bf16), except that
math.fma rounds once from f64 (a fused f32 fma up to a rare double
rounding; an f64 fma is rounded twice).

What it checks, reported in ``Machine.hazards`` (one entry per op line and
kind, with a count) rather than raised, so that a test sees them all:

* out-of-bounds accesses (per dimension) and vector accesses not aligned
  as their ``alignment`` attribute says;
* reads of memory never written (arguments given data count as written);
* races: a store to an element that another thread read or wrote, or a
  load of one that another thread wrote, with no barrier between (for
  workgroup memory) or in the same launch (for global memory, where the
  threads of one block are not told apart), and two threads storing to one
  element at once;
* integer division or remainder by zero;
* a gpu.barrier reached by only part of a block, a gpu.shuffle by only
  part of a warp;
* launches of an empty grid, of more than 2^31-1 blocks along x (65535
  along y or z), of blocks of more than 1024 threads, or of more than 48
  KiB of workgroup memory;
* use of freed device memory, frees of memory gpu.alloc did not give or
  already freed, and device allocations never freed.

Writes are counted per element (``Buffer.writes``), for a test to check
that each output element is written once. Launches are listed in
``Machine.launches`` (line, grid, block).

Limits: one block per region (scf and gpu only, no cf branches); identity
memref layouts only; 1-D vectors; gpu.shuffle in xor mode; no async
tokens, clusters or dynamic shared memory; warps of 32 threads. Because
the threads run in lockstep, a race shows only through the checks above,
never as a wrong value. Every op runs for all threads of a launch, the
inactive ones' results discarded: the time grows with grid x block x the
trip count of the longest loop, and launches of more than MAX_LANES
threads raise Unsupported.
"""

import re
import struct

import numpy as np

# NumPy storage of each element type. Index and integers are unsigned
# (arith's wrapping semantics; signed predicates reinterpret them); bf16 is
# kept in float32 holding bf16 values.
_DTYPES = {"index": np.uint64, "i64": np.uint64, "i32": np.uint32,
           "i1": np.bool_, "f64": np.float64, "f32": np.float32,
           "f16": np.float16, "bf16": np.float32}
_BYTES = {"index": 8, "i64": 8, "i32": 4, "i1": 1, "f64": 8, "f32": 4,
          "f16": 2, "bf16": 2}
_FLOATS = ("f64", "f32", "f16", "bf16")

WARP = 32
MAX_GRID_X = 2 ** 31 - 1
MAX_GRID_YZ = 65535
MAX_BLOCK = (1024, 1024, 64)
MAX_THREADS = 1024
MAX_SHARED_BYTES = 48 * 1024
# Threads of one launch, and elements of one buffer, the interpreter
# accepts (memory: a few arrays of this length per value or buffer).
MAX_LANES = 1 << 22
MAX_ELEMENTS = 1 << 26
# In the race-tracking arrays: no reader or writer yet, several readers,
# host code.
_NOBODY, _MANY, _HOST = -1, -2, -3


class Unsupported(Exception):
    """IR outside the subset this interpreter implements."""


def round_bf16(a):
    """float32 values rounded to bf16 (nearest even), kept as float32."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16).astype(np.uint32)
    return np.where(np.isnan(a), a, r.view(np.float32))


def _to_dtype(a, elt):
    """`a` converted (rounded) to element type `elt`'s storage."""
    out = np.asarray(a).astype(_DTYPES[elt])
    return round_bf16(out) if elt == "bf16" else out


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------

class VectorType:
    def __init__(self, n, elt):
        self.n, self.elt = n, elt


class MemRefType:
    def __init__(self, shape, elt):
        # shape: ints, None where dynamic.
        self.shape, self.elt = shape, elt


def _walk(text, i=0):
    """(index, character, bracket depth before it) of each character of
    `text` from `i` on, outside strings; `->` is not a bracket."""
    depth = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = text.index('"', i + 1) + 1
            continue
        yield i, c, depth
        if c in "<([{":
            depth += 1
        elif c in ">)]}" and not (c == ">" and text[i - 1] == "-"):
            depth -= 1
        i += 1


def _split(text, sep=","):
    """`text` split at `sep` outside brackets and strings."""
    parts, start = [], 0
    for i, _, depth in _walk(text):
        if depth == 0 and i >= start and text.startswith(sep, i):
            parts.append(text[start:i].strip())
            start = i + len(sep)
    parts.append(text[start:].strip())
    return parts


def _closing(text, i):
    """Index just past the bracket matching the one at text[i]."""
    for j, c, depth in _walk(text, i):
        if depth == 1 and c in ">)]}" and not (c == ">" and
                                              text[j - 1] == "-"):
            return j + 1
    raise ValueError(f"no bracket closes the one at {i} of {text!r}")


def parse_type(text):
    """A scalar type name, a VectorType or a MemRefType."""
    text = text.strip()
    if text in _DTYPES:
        return text
    m = re.fullmatch(r"vector<(\d+)x(\w+)>", text)
    if m and m.group(2) in _DTYPES:
        return VectorType(int(m.group(1)), m.group(2))
    m = re.fullmatch(r"memref<(.*)>", text)
    if m:
        # Identity layouts only; gpu.launch tells workgroup memory by its
        # attributions, not by this memory space.
        parts = _split(m.group(1))
        if parts[1:] not in ([], ["#gpu.address_space<workgroup>"]):
            raise Unsupported(f"memref layout or memory space: {text}")
        dims = parts[0].split("x")
        if dims[-1] in _DTYPES:
            shape = [None if d == "?" else int(d) for d in dims[:-1]]
            return MemRefType(shape, dims[-1])
    raise Unsupported(f"type {text}")


def _elt(t):
    return t.elt if isinstance(t, (VectorType, MemRefType)) else t


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

class Block:
    def __init__(self):
        self.args, self.arg_types, self.ops = [], [], []


class Op:
    """One op: name, operand and result names, attributes (name -> text),
    operand and result types, regions (one Block each) and its line."""

    def __init__(self, name, results, operands, line):
        self.name, self.results, self.operands = name, results, operands
        self.line = line
        self.attrs = {}
        self.in_types, self.out_types = [], []
        self.regions = []
        self.run = None  # set by _compile: run(machine, env, mask)

    def attr(self, key):
        if key not in self.attrs:
            raise Unsupported(f"line {self.line}: {self.name} lacks {key}")
        return self.attrs[key]


_OP_RE = re.compile(
    r'(?:(%[\w$.]+)(?::(\d+))? = )?"([\w.]+)"\(([^()]*)\)(.*)')
_TERMINATORS = ("scf.yield", "gpu.terminator", "func.return")


def _attr_dict(text):
    """'{a = 1 : i64, unit}' (braces stripped) -> {'a': '1 : i64',
    'unit': ''}."""
    out = {}
    for item in _split(text):
        if item:
            key, _, value = item.partition(" = ")
            out[key.strip()] = value.strip()
    return out


def _parse_tail(op, rest):
    """The part of an op after its operands or regions: attributes and
    the type signature."""
    rest = rest.strip()
    if rest.startswith("{"):
        end = _closing(rest, 0)
        op.attrs.update(_attr_dict(rest[1:end - 1]))
        rest = rest[end:].strip()
    if not rest.startswith(":"):
        raise Unsupported(f"line {op.line}: cannot read the signature of "
                          f"{op.name}: {rest!r}")
    ins, outs = _split(rest[1:], "->")
    op.in_types = [parse_type(t) for t in _split(ins[1:-1]) if t]
    if outs.startswith("("):
        outs = outs[1:-1]
    op.out_types = [parse_type(t) for t in _split(outs) if t]


def parse(text):
    """The top-level ops of a generic-form module (compiled for running)."""
    top = Block()
    stack = [(None, top)]  # (op whose regions are open, current block)
    for line_no, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("^"):
            block = stack[-1][1]
            if block.ops or block.args:
                raise Unsupported(f"line {line_no}: a region with several "
                                  "blocks (unstructured control flow)")
            inner = s[s.index("(") + 1:s.rindex(")")] if "(" in s else ""
            for arg in _split(inner):
                if arg:
                    name, _, t = arg.partition(":")
                    block.args.append(name.strip())
                    block.arg_types.append(parse_type(t))
            continue
        if s == "}, {":
            op = stack[-1][0]
            op.regions.append(Block())
            stack[-1] = (op, op.regions[-1])
            continue
        if s.startswith("})"):
            op, _ = stack.pop()
            _parse_tail(op, s[2:])
            _compile(op)
            continue
        m = _OP_RE.fullmatch(s)
        if not m:
            raise Unsupported(f"line {line_no}: cannot parse {s!r}")
        res, count, name, operands, rest = m.groups()
        results = ([f"{res}#{i}" for i in range(int(count))] if count
                   else [res] if res else [])
        op = Op(name, results,
                [o.strip() for o in operands.split(",") if o.strip()],
                line_no)
        stack[-1][1].ops.append(op)
        rest = rest.strip()
        if rest.startswith("<{"):
            end = _closing(rest, 1)
            op.attrs.update(_attr_dict(rest[2:end - 1]))
            rest = rest[end + 1:].strip()
        if rest == "({":
            op.regions.append(Block())
            stack.append((op, op.regions[-1]))
        else:
            _parse_tail(op, rest)
            _compile(op)
    if len(stack) != 1:
        raise Unsupported("unbalanced regions")
    return top.ops


# ---------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------

class Buffer:
    """The storage of a memref: a flat array, which elements were ever
    written (or given), how often each was written, and for race detection
    who last wrote and read each element, and when."""

    def __init__(self, name, shape, elt, data=None, workgroup=False,
                 line=None):
        self.name, self.shape, self.elt = name, tuple(shape), elt
        self.workgroup = workgroup
        self.line = line  # of the op that allocated it
        size = int(np.prod(self.shape, dtype=np.int64))
        if size > MAX_ELEMENTS:
            raise Unsupported(f"{name}: {size} elements: too many to "
                              "interpret")
        if data is None:
            fill = np.nan if elt in _FLOATS else 0
            self.data = np.full(size, fill, dtype=_DTYPES[elt])
            self.init = np.zeros(size, dtype=bool)
        else:
            data = np.asarray(data)
            if data.size != size:
                raise ValueError(f"{name}: {data.size} values for shape "
                                 f"{self.shape}")
            self.data = _to_dtype(data.reshape(-1), elt)
            self.init = np.ones(size, dtype=bool)
        self.writes = np.zeros(size, dtype=np.int64)
        self.w_who = np.full(size, _NOBODY, dtype=np.int64)
        self.w_when = np.full(size, -1, dtype=np.int64)
        self.r_who = np.full(size, _NOBODY, dtype=np.int64)
        self.r_when = np.full(size, -1, dtype=np.int64)
        self.freed = False

    def array(self):
        """The values, shaped (bf16 as float32)."""
        return self.data.reshape(self.shape)

    def view(self):
        return View(self, self.shape, 0)


class View:
    """A memref value: a buffer seen with a shape; `base` is the offset of
    the view in the buffer, per thread for workgroup memory (each block its
    own copy)."""

    def __init__(self, buf, shape, base):
        self.buf, self.shape, self.base = buf, tuple(shape), base


# ---------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------

class _Host:
    """The thread context of host code: one thread."""
    block = np.array([_HOST], dtype=np.int64)


class _Launch:
    """The thread context of a running launch."""

    def __init__(self, blocks, threads):
        lanes = np.arange(blocks * threads, dtype=np.int64)
        self.threads = threads
        self.block = lanes // threads
        self.tid = lanes % threads
        self.barriers = np.zeros(blocks, dtype=np.int64)  # per-block epoch


class Machine:
    def __init__(self):
        self._hazards = {}  # (line, kind) -> [first message, count]
        self.launches = []  # (line, grid xyz, block xyz)
        self.allocations = []  # gpu.alloc'd Buffers
        self.ctx = _Host()
        # Launch boundaries: host code and each launch see distinct epochs
        # of global memory.
        self.epoch = 0

    @property
    def hazards(self):
        return [f"line {line}: {kind}: {msg}" + (f" (x{n})" if n > 1 else "")
                for (line, kind), (msg, n) in self._hazards.items()]

    def hazard(self, line, kind, msg):
        entry = self._hazards.setdefault((line, kind), [msg, 0])
        entry[1] += 1

    # -- memory ------------------------------------------------------------

    def _who_when(self, buf, lanes):
        """Per accessing thread: its identity and synchronization epoch at
        the buffer's scope (a thread and its block's barriers for
        workgroup memory, a block and the launch for global memory)."""
        if buf.workgroup:
            return lanes, self.ctx.barriers[self.ctx.block[lanes]]
        return self.ctx.block[lanes], np.full(len(lanes), self.epoch)

    def _address(self, op, view, indices, width, mask):
        """The active threads and the buffer elements (threads x width)
        they access at `indices`; out-of-bounds threads are reported and
        dropped."""
        lanes = np.flatnonzero(mask)
        idx = [np.broadcast_to(i, mask.shape)[lanes].astype(np.uint64)
               for i in indices]
        if len(idx) != len(view.shape):
            raise Unsupported(f"line {op.line}: {len(idx)} indices into a "
                              f"rank-{len(view.shape)} memref")
        bad = np.zeros(len(lanes), dtype=bool)
        for d, (i, size) in enumerate(zip(idx, view.shape)):
            span = width if d == len(idx) - 1 else 1
            bad |= (i > size - span) if size >= span else True
        if not idx and width != 1:
            raise Unsupported(f"line {op.line}: a vector access of a 0-d "
                              "memref")
        if bad.any():
            k = int(np.argmax(bad))
            self.hazard(op.line, "out of bounds",
                        f"{op.name} of {view.buf.name}{list(view.shape)} at "
                        f"{[int(i[k]) for i in idx]} (width {width})")
            lanes = lanes[~bad]
            idx = [i[~bad] for i in idx]
        linear = np.zeros(len(lanes), dtype=np.int64)
        for i, size in zip(idx, view.shape):
            linear = linear * size + i.astype(np.int64)
        base = view.base if np.isscalar(view.base) else view.base[lanes]
        flat = base + linear
        if "alignment" in op.attrs:
            align = int(op.attrs["alignment"].split(":")[0])
            # Workgroup copies are laid out per block: align within one.
            off = linear if view.buf.workgroup else flat
            if np.any(off * _BYTES[view.buf.elt] % align):
                self.hazard(op.line, "misaligned",
                            f"{op.name} of {view.buf.name}: alignment "
                            f"{align} bytes")
        if view.buf.freed:
            self.hazard(op.line, "use after free",
                        f"{op.name} of {view.buf.name}")
        return lanes, flat[:, None] + np.arange(width)

    def load(self, op, view, indices, width, mask):
        """(threads, width) values; inactive threads get zeros."""
        buf = view.buf
        lanes, elems = self._address(op, view, indices, width, mask)
        out = np.zeros((mask.size, width), dtype=buf.data.dtype)
        if not len(lanes):
            return out
        if not buf.init[elems].all():
            self.hazard(op.line, "uninitialized read",
                        f"{op.name} of {buf.name} at flat "
                        f"{int(elems[~buf.init[elems]][0])}")
        out[lanes] = buf.data[elems]
        who, when = self._who_when(buf, lanes)
        e, w, t = (elems.ravel(), np.repeat(who, width),
                   np.repeat(when, width))
        if np.any((buf.w_when[e] == t) & (buf.w_who[e] != w)):
            self.hazard(op.line, "race", f"{op.name} of {buf.name} written by "
                        "another thread with no barrier or launch between")
        # Readers so far in this epoch: one, or _MANY; readers of one
        # element in this very access that differ also make _MANY.
        again = (buf.r_when[e] == t) & (buf.r_who[e] != w)
        who_now = np.where(again, _MANY, w)
        buf.r_who[e] = who_now
        buf.r_who[e[buf.r_who[e] != who_now]] = _MANY
        buf.r_when[e] = t
        return out

    def store(self, op, view, indices, value, width, mask):
        buf = view.buf
        lanes, elems = self._address(op, view, indices, width, mask)
        if not len(lanes):
            return
        value = np.broadcast_to(np.reshape(value, (-1, width)),
                                (mask.size, width))
        e = elems.ravel()
        buf.data[e] = _to_dtype(value[lanes], buf.elt).ravel()
        buf.init[e] = True
        counts = np.bincount(e, minlength=buf.writes.size)
        buf.writes += counts
        who, when = self._who_when(buf, lanes)
        w, t = np.repeat(who, width), np.repeat(when, width)
        # Two threads storing to one element in this access, or one that
        # another thread wrote or read in this epoch.
        conflict = ((counts[e] > 1)
                    | ((buf.w_when[e] == t) & (buf.w_who[e] != w))
                    | ((buf.r_when[e] == t) & (buf.r_who[e] != w)))
        buf.w_who[e] = w
        buf.w_when[e] = t
        if conflict.any():
            self.hazard(op.line, "race",
                        f"{op.name} to {buf.name} of an element another "
                        "thread read or wrote with no barrier or launch "
                        "between")

    # -- execution ---------------------------------------------------------

    def run_block(self, block, env, args, mask):
        """Runs `block` for the threads in `mask`; returns the operands of
        its terminator (none for an empty block)."""
        for name, value in zip(block.args, args):
            env[name] = value
        if not block.ops:
            return []
        for op in block.ops[:-1]:
            op.run(self, env, mask)
        return [env[o] for o in block.ops[-1].operands]


def run_function(ops, name, args):
    """Runs func.func @name of the parsed module `ops` on `args` (Buffers,
    in argument order, shapes matching the signature); returns the
    Machine, whose hazards say what went wrong."""
    funcs = [f for module in ops for f in module.regions[0].ops
             if f.name == "func.func"
             and f.attr("sym_name") == f'"{name}"']
    if len(funcs) != 1:
        raise ValueError(f"{len(funcs)} functions named {name}")
    body = funcs[0].regions[0]
    if len(args) != len(body.args):
        raise ValueError(f"{len(args)} arguments for {len(body.args)}")
    for buf, t in zip(args, body.arg_types):
        ok = (isinstance(t, MemRefType) and t.elt == buf.elt
              and len(t.shape) == len(buf.shape)
              and all(d is None or d == n for d, n in zip(t.shape,
                                                          buf.shape)))
        if not ok:
            raise ValueError(f"argument {buf.name}{list(buf.shape)} "
                             f"{buf.elt} does not fit the signature")
    machine = Machine()
    with np.errstate(all="ignore"):  # IEEE results, as on the device
        machine.run_block(body, {}, [b.view() for b in args],
                          np.ones(1, dtype=bool))
    for buf in machine.allocations:
        if not buf.freed:
            machine.hazard(buf.line, "leak", f"{buf.name} never freed")
    return machine


# ---------------------------------------------------------------------------
# Ops: _compile(op) sets op.run(machine, env, mask)
# ---------------------------------------------------------------------------

_COMPILERS = {}


def _op(*names):
    def register(fn):
        for n in names:
            _COMPILERS[n] = fn
        return fn
    return register


def _compile(op):
    if op.name in _TERMINATORS or op.name == "builtin.module":
        return
    # run_block runs all ops of a block but its last, whose operands it
    # returns.
    for block in op.regions:
        names = [o.name for o in block.ops]
        if names and (names[-1] not in _TERMINATORS
                      or any(n in _TERMINATORS for n in names[:-1])):
            raise Unsupported(f"line {op.line}: a region of {op.name} not "
                              "ended by its one terminator")
    if op.name == "func.func":
        return
    compiler = _COMPILERS.get(op.name)
    if compiler is None:
        raise Unsupported(f"line {op.line}: unsupported op {op.name}")
    op.run = compiler(op)


def _array(text):
    """'array<i64: 1, -2>' -> [1, -2]."""
    return [int(v) for v in text.split(":", 1)[1].rstrip(">").split(",")
            if v.strip()]


def _uint(value):
    """A uniform index value."""
    return np.array([value], dtype=np.uint64)


def _scalar(value):
    """A uniform value as an int (its one element)."""
    if np.size(value) != 1:
        raise Unsupported("a per-thread value where a uniform one is needed")
    return int(np.reshape(value, -1)[0])


def _where(c, a, b):
    """arith.select / merging of per-thread results: the condition, one per
    thread (or per lane of a vector), broadcast over vector lanes."""
    nd = max(np.ndim(a), np.ndim(b))
    c = np.reshape(c, np.shape(c) + (1,) * (nd - np.ndim(c)))
    return np.where(c, a, b)


def _float_literal(text, elt):
    if text.startswith("0x"):
        bits = int(text, 16)
        if elt == "f64":
            return struct.unpack("<d", struct.pack("<Q", bits))[0]
        if elt == "f32":
            return struct.unpack("<f", struct.pack("<I", bits))[0]
        if elt == "f16":
            return float(np.uint16(bits).view(np.float16))
        return struct.unpack("<f", struct.pack("<I", bits << 16))[0]
    return float(text)


def _literal(text, elt):
    if elt == "i1":
        if text not in ("true", "false"):
            raise Unsupported(f"i1 literal {text}")
        return text == "true"
    if elt in _FLOATS:
        return _float_literal(text, elt)
    return int(text) % (1 << (8 * _BYTES[elt]))


@_op("arith.constant")
def _constant(op):
    t = op.out_types[0]
    text = op.attr("value").rsplit(" : ", 1)[0]
    if isinstance(t, VectorType):
        m = re.fullmatch(r"dense<(.*)>", text)
        if not m:
            raise Unsupported(f"line {op.line}: vector constant {text}")
        items = m.group(1).strip("[]").split(",")
        values = [_literal(v.strip(), t.elt) for v in items]
        if len(values) == 1:
            values *= t.n
        value = _to_dtype(np.array([values]), t.elt)
    elif isinstance(t, str):
        value = _to_dtype(np.array([_literal(text, t)]), t)
    else:
        raise Unsupported(f"line {op.line}: constant of type {t}")
    r = op.results[0]

    def run(m, env, mask):
        env[r] = value
    return run


def _elementwise(fn, rounds=False):
    """A pure op computing its result from its operands with `fn`, rounded
    to bf16 where that is the result type (`rounds`: a float op)."""
    def compile_(op):
        args, r = op.operands, op.results[0]
        to_bf16 = rounds and _elt(op.out_types[0]) == "bf16"

        def run(m, env, mask):
            out = fn(*[env[a] for a in args])
            env[r] = round_bf16(out) if to_bf16 else out
        return run
    return compile_


for _name, _fn in {"addi": np.add, "subi": np.subtract, "muli": np.multiply,
                   "andi": np.bitwise_and, "ori": np.bitwise_or,
                   "xori": np.bitwise_xor, "shli": np.left_shift,
                   "shrui": np.right_shift, "maxui": np.maximum,
                   "minui": np.minimum}.items():
    _COMPILERS["arith." + _name] = _elementwise(_fn)
for _name, _fn in {"addf": np.add, "subf": np.subtract, "mulf": np.multiply,
                   "divf": np.divide, "maximumf": np.maximum}.items():
    _COMPILERS["arith." + _name] = _elementwise(_fn, rounds=True)
_COMPILERS["math.absf"] = _elementwise(np.abs, rounds=True)
_COMPILERS["math.sqrt"] = _elementwise(np.sqrt, rounds=True)


def _ceildiv(a, b):
    return a // b + (a % b != 0).astype(a.dtype)


@_op("arith.divui", "arith.remui", "arith.ceildivui")
def _division(op):
    fn = {"arith.divui": np.floor_divide, "arith.remui": np.remainder,
          "arith.ceildivui": _ceildiv}[op.name]
    (a, b), r = op.operands, op.results[0]

    def run(m, env, mask):
        x, y = env[a], env[b]
        zero = y == 0
        if zero.any() and np.any(np.broadcast_to(zero, mask.shape) & mask):
            m.hazard(op.line, "division by zero", op.name)
        env[r] = fn(x, np.where(zero, np.ones_like(y), y))
    return run


@_op("math.fma")
def _fma(op):
    (a, b, c), r = op.operands, op.results[0]
    elt = _elt(op.out_types[0])

    def run(m, env, mask):
        x, y, z = (env[v].astype(np.float64) for v in (a, b, c))
        env[r] = _to_dtype(x * y + z, elt)
    return run


_CMPI = {0: np.equal, 1: np.not_equal, 2: np.less, 3: np.less_equal,
         4: np.greater, 5: np.greater_equal, 6: np.less,
         7: np.less_equal, 8: np.greater, 9: np.greater_equal}
_SIGNED = {"index": np.int64, "i64": np.int64, "i32": np.int32,
           "i1": np.bool_}


@_op("arith.cmpi")
def _cmpi(op):
    pred = int(op.attr("predicate").split(":")[0])
    if pred not in _CMPI:
        raise Unsupported(f"line {op.line}: cmpi predicate {pred}")
    fn = _CMPI[pred]
    signed = _SIGNED[_elt(op.in_types[0])] if 2 <= pred <= 5 else None
    (a, b), r = op.operands, op.results[0]

    def run(m, env, mask):
        x, y = env[a], env[b]
        if signed is not None:
            x, y = x.astype(signed), y.astype(signed)
        env[r] = fn(x, y)
    return run


# arith.cmpf predicates 1-6 (oeq..one) and 8-13 (ueq..une) compare as
# these; 0 is false, 7 ord, 14 uno, 15 true.
_CMPF = {1: np.equal, 2: np.greater, 3: np.greater_equal, 4: np.less,
         5: np.less_equal, 6: np.not_equal}


@_op("arith.cmpf")
def _cmpf(op):
    pred = int(op.attr("predicate").split(":")[0])
    if not 0 <= pred <= 15:
        raise Unsupported(f"line {op.line}: cmpf predicate {pred}")
    (a, b), r = op.operands, op.results[0]

    def run(m, env, mask):
        x, y = env[a], env[b]
        unordered = np.isnan(x) | np.isnan(y)
        if pred in (0, 15):
            out = np.broadcast_to(pred == 15, unordered.shape)
        elif pred in (7, 14):
            out = unordered if pred == 14 else ~unordered
        elif pred < 7:
            out = _CMPF[pred](x, y) & ~unordered
        else:
            out = _CMPF[pred - 7](x, y) | unordered
        env[r] = out
    return run


@_op("arith.select")
def _select(op):
    (c, a, b), r = op.operands, op.results[0]

    def run(m, env, mask):
        env[r] = _where(env[c], env[a], env[b])
    return run


@_op("arith.extf", "arith.truncf", "arith.uitofp", "arith.index_castui",
     "arith.trunci", "arith.extui")
def _convert(op):
    # Unsigned storage makes the integer casts plain conversions: trunci
    # wraps, extui and index_castui zero-extend (or truncate).
    src, dst = _elt(op.in_types[0]), _elt(op.out_types[0])
    if op.name == "arith.truncf" and src == "f64" and dst == "bf16":
        raise Unsupported(f"line {op.line}: truncf f64 -> bf16 (would round "
                          "twice here)")
    a, r = op.operands[0], op.results[0]

    def run(m, env, mask):
        env[r] = _to_dtype(env[a], dst)
    return run


@_op("arith.bitcast")
def _bitcast(op):
    src, dst = _elt(op.in_types[0]), _elt(op.out_types[0])
    if "bf16" in (src, dst) or _BYTES[src] != _BYTES[dst]:
        raise Unsupported(f"line {op.line}: bitcast {src} -> {dst}")
    a, r = op.operands[0], op.results[0]

    def run(m, env, mask):
        env[r] = np.ascontiguousarray(env[a]).view(_DTYPES[dst])
    return run


# -- memref ------------------------------------------------------------------

def _groups(op):
    return [[int(d) for d in re.findall(r"\d+", g)]
            for g in re.findall(r"\[([\d, ]*)\]",
                                op.attr("reassociation")[1:-1])]


@_op("memref.collapse_shape")
def _collapse(op):
    groups = _groups(op)
    a, r = op.operands[0], op.results[0]

    def run(m, env, mask):
        v = env[a]
        shape = [int(np.prod([v.shape[d] for d in g], dtype=np.int64))
                 for g in groups]
        env[r] = View(v.buf, shape, v.base)
    return run


@_op("memref.expand_shape")
def _expand(op):
    groups = _groups(op)
    static = _array(op.attr("static_output_shape"))
    a, dyn, r = op.operands[0], op.operands[1:], op.results[0]

    def run(m, env, mask):
        v = env[a]
        sizes = iter(_scalar(env[d]) for d in dyn)
        shape = [s if s >= 0 else next(sizes) for s in static]
        for g, n in zip(groups, v.shape):
            if int(np.prod([shape[d] for d in g], dtype=np.int64)) != n:
                m.hazard(op.line, "bad reshape", f"{v.shape} -> {shape}")
        env[r] = View(v.buf, shape, v.base)
    return run


@_op("memref.dim")
def _dim(op):
    (a, d), r = op.operands, op.results[0]

    def run(m, env, mask):
        v, i = env[a], _scalar(env[d])
        if i >= len(v.shape):
            m.hazard(op.line, "out of bounds", f"dimension {i}")
            i = 0
        env[r] = _uint(v.shape[i])
    return run


@_op("memref.load", "vector.load")
def _load(op):
    t = op.out_types[0]
    width = t.n if isinstance(t, VectorType) else 1
    a, idx, r = op.operands[0], op.operands[1:], op.results[0]

    def run(m, env, mask):
        out = m.load(op, env[a], [env[i] for i in idx], width, mask)
        env[r] = out if isinstance(t, VectorType) else out[:, 0]
    return run


@_op("memref.store", "vector.store")
def _store(op):
    t = op.in_types[0]
    width = t.n if isinstance(t, VectorType) else 1
    v, a, idx = op.operands[0], op.operands[1], op.operands[2:]

    def run(m, env, mask):
        m.store(op, env[a], [env[i] for i in idx], env[v], width, mask)
    return run


@_op("gpu.alloc")
def _alloc(op):
    sizes = _array(op.attr("operandSegmentSizes"))
    if sizes[0] or sizes[2]:
        raise Unsupported(f"line {op.line}: async or symbol operands")
    t, r = op.out_types[0], op.results[0]

    def run(m, env, mask):
        dyn = iter(_scalar(env[d]) for d in op.operands)
        shape = [next(dyn) if d is None else d for d in t.shape]
        buf = Buffer(f"gpu.alloc@{op.line}#{len(m.allocations)}", shape,
                     t.elt, line=op.line)
        m.allocations.append(buf)
        env[r] = buf.view()
    return run


@_op("gpu.dealloc")
def _dealloc(op):
    if len(op.operands) != 1:
        raise Unsupported(f"line {op.line}: async gpu.dealloc")
    a = op.operands[0]

    def run(m, env, mask):
        buf = env[a].buf
        if buf.freed or buf not in m.allocations:
            m.hazard(op.line, "bad free", f"{buf.name}")
        buf.freed = True
    return run


# -- vector ------------------------------------------------------------------

@_op("vector.extract")
def _extract(op):
    if len(op.operands) != 1:
        raise Unsupported(f"line {op.line}: dynamic vector.extract")
    pos = _array(op.attr("static_position"))
    if len(pos) != 1:
        raise Unsupported(f"line {op.line}: vector.extract at {pos}")
    pos = pos[0]
    a, r = op.operands[0], op.results[0]

    def run(m, env, mask):
        env[r] = env[a][:, pos]
    return run


@_op("vector.broadcast")
def _broadcast(op):
    if isinstance(op.in_types[0], VectorType):
        raise Unsupported(f"line {op.line}: broadcast of a vector")
    n = op.out_types[0].n
    a, r = op.operands[0], op.results[0]

    def run(m, env, mask):
        env[r] = np.repeat(env[a][:, None], n, axis=1)
    return run


@_op("vector.from_elements")
def _from_elements(op):
    args, r = op.operands, op.results[0]

    def run(m, env, mask):
        env[r] = np.stack(np.broadcast_arrays(*[env[a] for a in args]), 1)
    return run


@_op("vector.reduction")
def _reduction(op):
    if op.attr("kind") != "#vector.kind<add>":
        raise Unsupported(f"line {op.line}: reduction {op.attr('kind')}")
    args, r = op.operands, op.results[0]
    to_bf16 = _elt(op.out_types[0]) == "bf16"

    def run(m, env, mask):
        v = env[args[0]]
        # In order, rounding after each add (LLVM's ordered reduction).
        acc = env[args[1]] if len(args) > 1 else v[:, 0]
        for k in range(0 if len(args) > 1 else 1, v.shape[1]):
            acc = acc + v[:, k]
            if to_bf16:
                acc = round_bf16(acc)
        env[r] = acc
    return run


# -- scf ---------------------------------------------------------------------

@_op("scf.if")
def _if(op):
    c = op.operands[0]
    then, other = op.regions[0], op.regions[1]

    def run(m, env, mask):
        cond = np.broadcast_to(env[c], mask.shape)
        on, off = mask & cond, mask & ~cond
        yes = m.run_block(then, env, [], on) if on.any() else None
        no = m.run_block(other, env, [], off) if off.any() else None
        for k, r in enumerate(op.results):
            if no is None:
                env[r] = yes[k]
            elif yes is None:
                env[r] = no[k]
            else:
                env[r] = _where(cond, yes[k], no[k])
    return run


@_op("scf.for")
def _for(op):
    lb, ub, step = op.operands[:3]
    init = op.operands[3:]
    body = op.regions[0]
    # scf.for compares signed unless told otherwise.
    kind = np.uint64 if "unsignedCmp" in op.attrs else np.int64

    def run(m, env, mask):
        iv, hi, st = env[lb], env[ub], env[step]
        carried = [env[v] for v in init]
        iv = np.broadcast_to(iv, np.broadcast_shapes(iv.shape, hi.shape,
                                                     st.shape))
        active = mask & (iv.astype(kind) < hi.astype(kind))
        if np.any(active & (st == 0)):
            # It would never end: report it, and skip the loop.
            m.hazard(op.line, "zero step", "scf.for with step 0")
        elif iv.size == 1:
            # Uniform bounds: the active threads iterate together.
            while iv.astype(kind)[0] < hi.astype(kind)[0]:
                carried = m.run_block(body, env, [iv] + carried, mask)
                iv = iv + st
        else:
            iv = np.broadcast_to(iv, mask.shape)
            while active.any():
                out = m.run_block(body, env, [iv] + carried, active)
                carried = [_where(active, n, o)
                           for n, o in zip(out, carried)]
                iv = np.where(active, iv + st, iv)
                active &= iv.astype(kind) < hi.astype(kind)
        for r, v in zip(op.results, carried):
            env[r] = v
    return run


# -- gpu ---------------------------------------------------------------------

@_op("gpu.launch")
def _launch(op):
    seg = _array(op.attr("operandSegmentSizes"))
    if seg[0] or any(seg[7:]):
        raise Unsupported(f"line {op.line}: launch with async tokens, "
                          "clusters or dynamic shared memory")
    body = op.regions[0]
    n_wg = int(op.attrs.get("workgroup_attributions", "0 : i64")
               .split(":")[0])
    shared = body.arg_types[12:]
    if len(shared) != n_wg:
        raise Unsupported(f"line {op.line}: private attributions")
    shared_bytes = sum(int(np.prod(t.shape)) * _BYTES[t.elt]
                       for t in shared)

    def run(m, env, mask):
        if not isinstance(m.ctx, _Host):
            raise Unsupported(f"line {op.line}: nested gpu.launch")
        grid = [_scalar(env[v]) for v in op.operands[0:3]]
        block = [_scalar(env[v]) for v in op.operands[3:6]]
        m.launches.append((op.line, tuple(grid), tuple(block)))
        if 0 in grid:
            m.hazard(op.line, "empty grid", f"launch of grid {grid}")
            return
        if grid[0] > MAX_GRID_X or max(grid[1:]) > MAX_GRID_YZ:
            m.hazard(op.line, "grid too large", f"launch of grid {grid}")
            return
        threads = int(np.prod(block))
        if (0 in block or threads > MAX_THREADS
                or any(b > lim for b, lim in zip(block, MAX_BLOCK))):
            m.hazard(op.line, "bad block", f"launch of block {block}")
            return
        if shared_bytes > MAX_SHARED_BYTES:
            m.hazard(op.line, "workgroup memory", f"{shared_bytes} bytes")
            return
        blocks = int(np.prod(grid))
        if blocks * threads > MAX_LANES:
            raise Unsupported(f"line {op.line}: {blocks} x {threads} "
                              "threads: too many to interpret")
        ctx = _Launch(blocks, threads)
        b, t = ctx.block.astype(np.uint64), ctx.tid.astype(np.uint64)
        gx, gy, bx, by = (np.uint64(v) for v in grid[:2] + block[:2])
        args = [b % gx, b // gx % gy, b // (gx * gy),
                t % bx, t // bx % by, t // (bx * by)]
        args += [_uint(v) for v in grid + block]
        for k, ty in enumerate(shared):
            n = int(np.prod(ty.shape))
            buf = Buffer(f"workgroup{k}@{op.line}", (blocks * n,), ty.elt,
                         workgroup=True)
            args.append(View(buf, ty.shape, ctx.block * n))
        m.ctx = ctx
        m.epoch += 1
        try:
            m.run_block(body, env, args, np.ones(blocks * threads, bool))
        finally:
            m.ctx = _Host()
            m.epoch += 1
    return run


def _in_launch(m, op):
    """The launch context, which `op` needs."""
    if isinstance(m.ctx, _Host):
        raise Unsupported(f"line {op.line}: {op.name} outside a launch")
    return m.ctx


@_op("gpu.barrier")
def _barrier(op):
    def run(m, env, mask):
        ctx = _in_launch(m, op)
        n = np.bincount(ctx.block[mask], minlength=len(ctx.barriers))
        if np.any((n > 0) & (n != ctx.threads)):
            m.hazard(op.line, "divergent barrier",
                     "gpu.barrier reached by only part of a block")
        ctx.barriers[n > 0] += 1
    return run


@_op("gpu.shuffle")
def _shuffle(op):
    if op.attr("mode") != "#gpu<shuffle_mode xor>":
        raise Unsupported(f"line {op.line}: shuffle {op.attr('mode')}")
    (v, off, width), (r, valid) = op.operands, op.results

    def run(m, env, mask):
        ctx = _in_launch(m, op)
        lane = ctx.tid % WARP
        warp = ctx.block * -(-ctx.threads // WARP) + ctx.tid // WARP
        size = np.minimum(WARP, ctx.threads - (ctx.tid - lane))
        n = np.bincount(warp[mask], minlength=int(warp[-1]) + 1)
        if np.any((n[warp] > 0) & (n[warp] != size)):
            m.hazard(op.line, "divergent shuffle",
                     "gpu.shuffle reached by only part of a warp")
        src = lane ^ np.broadcast_to(env[off], lane.shape).astype(np.int64)
        # MLIR: a source lane past `width` (or past the block's last
        # thread) is invalid, and the thread gets its own value.
        ok = ((src < np.broadcast_to(env[width], lane.shape)
               .astype(np.int64)) & (src < size))
        me = np.arange(len(lane))
        value = np.broadcast_to(env[v], lane.shape)
        env[r] = value[np.where(ok, me - lane + src, me)]
        env[valid] = ok
    return run
