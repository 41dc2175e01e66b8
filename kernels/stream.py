"""Non-temporal ("streaming") stores for Numba kernels.

``stream_store(a, i, v)`` is ``a[i] = v`` compiled with LLVM's ``!nontemporal`` hint: on x86 a
MOVNTI/MOVNTSD store that goes to memory through write-combining buffers instead of first
reading the cache line it writes (a normal store of a line that is not in cache reads it from
memory, then writes it back: twice the traffic). Worth it only for lines written whole and not
read again soon, e.g. a raster written row by row. Such stores are weakly ordered: a kernel
that uses them ends with ``stream_fence()`` before another thread may read what it wrote.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def stream_store(typingctx, array, index, value):  # type: ignore[no-untyped-def]
    """``array[index] = value`` as a non-temporal store (``index`` must be in bounds, >= 0)."""
    if not (isinstance(array, types.Array) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        array_type = sig.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(
            context, builder, array_type, ary, [args[1]], wraparound=False
        )
        item = context.cast(builder, args[2], sig.args[2], array_type.dtype)
        store = builder.store(item, ptr)
        store.set_metadata(
            "nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
        )
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


@intrinsic
def stream_fence(typingctx):  # type: ignore[no-untyped-def]
    """A sequentially consistent fence: earlier non-temporal stores are visible after it.

    LLVM emits a locked instruction on x86 (which drains the write-combining buffers, like
    MFENCE) and ``dmb ish`` on ARM.
    """

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen
