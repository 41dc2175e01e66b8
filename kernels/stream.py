"""Non-temporal ("streaming") stores for Numba kernels.

``stream_store(a, i, v)`` is ``a[i] = v`` compiled with LLVM's ``!nontemporal`` hint. On x86-64
it becomes a MOVNTI store (floats are stored as integers of the same width, because only AMD's
SSE4A has a scalar floating-point streaming store and LLVM drops the hint elsewhere), which goes
to memory through write-combining buffers instead of first reading the cache line it writes: a
normal store to a line that is not in cache reads the line from memory, then writes it back,
twice the traffic. Worth it only for lines written whole and not read again soon, e.g. a raster
written row by row. How much it saves depends on the CPU (measured on AMD Zen 5: B1 notes).
On AArch64 LLVM emits STNP pairs or plain stores.

Streaming stores are weakly ordered: a kernel that uses them ends with ``stream_fence()``
before another thread may read what it wrote.
"""

from __future__ import annotations

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_X86 = llvm.get_process_triple().startswith(("x86_64", "i386", "i686"))


@intrinsic
def stream_store(typingctx, array, index, value):  # type: ignore[no-untyped-def]
    """``array[index] = value`` as a streaming store.

    ``array`` must be a writable 1-D array and ``0 <= index < len(array)`` (not checked, and
    negative indices do not wrap around).
    """
    if not (
        isinstance(array, types.Array)
        and array.ndim == 1
        and array.mutable
        and isinstance(array.dtype, (types.Integer, types.Float))
        and isinstance(index, types.Integer)
        and typingctx.can_convert(value, array.dtype) is not None
    ):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        array_type, index_type, value_type = sig.args
        ary = context.make_array(array_type)(context, builder, args[0])
        i = context.cast(builder, args[1], index_type, types.intp)
        ptr = cgutils.get_item_pointer(context, builder, array_type, ary, [i], wraparound=False)
        item = context.cast(builder, args[2], value_type, array_type.dtype)
        item = context.data_model_manager[array_type.dtype].as_data(builder, item)
        if isinstance(item.type, (ir.DoubleType, ir.FloatType)):
            as_int = ir.IntType(64 if isinstance(item.type, ir.DoubleType) else 32)
            item = builder.bitcast(item, as_int)
            ptr = builder.bitcast(ptr, as_int.as_pointer())
        store = builder.store(item, ptr, align=None if array_type.aligned else 1)
        store.set_metadata(
            "nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
        )
        return context.get_dummy_value()

    return types.void(array, index, value), codegen


@intrinsic
def stream_fence(typingctx):  # type: ignore[no-untyped-def]
    """Make earlier streaming stores visible: SFENCE on x86, then a sequentially consistent fence.

    LLVM does not promise that its fences order non-temporal stores on x86 (it emits a locked
    instruction for ``fence seq_cst``), so x86 gets the SFENCE that the architecture documents
    for that; on AArch64 the fence (``dmb ish``) orders STNP stores.
    """

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        if _X86:
            sfence = builder.module.declare_intrinsic(
                "llvm.x86.sse.sfence", fnty=ir.FunctionType(ir.VoidType(), [])
            )
            builder.call(sfence, [])
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen
