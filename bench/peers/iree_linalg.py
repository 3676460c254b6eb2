"""The IREE peer's input: a norm case written as hand-written linalg on tensors.

Every norm is the same few linalg.generic ops over the stored tensor `x`:
  s     = sum over the reduced dims of x            (RMSNorm: of x*x)
  mean  = s / n
  q     = sum over the reduced dims of (x - mean)^2 (two passes, as NormLIR)
  rstd  = rsqrt(q / n + eps)
  y     = (x - mean) * rstd * w + b                 (w, b indexed by param dims)
plus, for BatchNorm training, the running-statistics update, and for BatchNorm
eval the running stats in place of the batch statistics. bf16 is extended to
f32 on load and truncated on store. GroupNorm takes x as (N, G, C/G, H, W) and
its weight as (G, C/G): the same bytes as (N, C, H, W), a free reshape.
The results are the same tensors (and bytes) as the NormLIR spec's.
"""


def tensor_type(shape, et):
    return "tensor<" + "".join(f"{d}x" for d in shape) + et + ">"


def _map(rank, dims):
    ds = ", ".join(f"d{i}" for i in range(rank))
    return f"affine_map<({ds}) -> ({', '.join(f'd{i}' for i in dims)})>"


def _f(v):
    return "%.9e" % v


def linalg_module(x_shape, et, reduce_dims, param_dims, param_et, *,
                  centred=True, eps=1e-5, kind="stats", momentum=0.1,
                  stats_out=("mean", "rstd")):
    """Returns (mlir_text, input_types, output_types).

    kind: "stats"    statistics from x (LN, RMS, IN, GN); stats_out picks the
                     statistics returned after y ("mean", "rstd")
          "bn_train" batch statistics, returns y, mean, rstd, new_rm, new_rv
          "bn_eval"  running statistics, returns y
    """
    r = len(x_shape)
    kept = [d for d in range(r) if d not in reduce_dims]
    k_shape = [x_shape[d] for d in kept]
    p_shape = [x_shape[d] for d in param_dims]
    n = 1
    for d in reduce_dims:
        n *= x_shape[d]
    XT, KT = tensor_type(x_shape, et), tensor_type(k_shape, "f32")
    PT = tensor_type(p_shape, param_et)
    FULL, KEPT, PARAM = _map(r, range(r)), _map(r, kept), _map(r, param_dims)
    IDK = _map(len(k_shape), range(len(k_shape)))
    par_all = ", ".join(['"parallel"'] * r)
    red = ", ".join('"reduction"' if d in reduce_dims else '"parallel"'
                    for d in range(r))
    par_k = ", ".join(['"parallel"'] * len(k_shape))
    L = []

    def ext(v, t):
        if t == "f32":
            return v
        L.append(f"    {v}_f = arith.extf {v} : {t} to f32")
        return v + "_f"

    args = [("%x", XT)]
    has_w = True
    has_b = centred
    if has_w:
        args.append(("%w", PT))
    if has_b:
        args.append(("%b", PT))
    if kind in ("bn_train", "bn_eval"):
        args += [("%rm", KT), ("%rv", KT)]

    L.append(f"  %zero = arith.constant 0.0 : f32")
    L.append(f"  %invn = arith.constant {_f(1.0 / n)} : f32")
    L.append(f"  %eps = arith.constant {_f(eps)} : f32")
    L.append(f"  %ek = tensor.empty() : {KT}")
    L.append(f"  %zk = linalg.fill ins(%zero : f32) outs(%ek : {KT}) -> {KT}")

    def reduce(name, extra_in, body):
        ins = "%x" + "".join(f", {v}" for v, _ in extra_in)
        tys = XT + "".join(f", {t}" for _, t in extra_in)
        maps = ", ".join([FULL] + [KEPT] * len(extra_in) + [KEPT])
        bargs = f"%a: {et}" + "".join(f", %e{i}: f32" for i in range(len(extra_in)))
        L.append(f"  {name} = linalg.generic {{indexing_maps = [{maps}], "
                 f"iterator_types = [{red}]}} ins({ins} : {tys}) "
                 f"outs(%zk : {KT}) {{")
        L.append(f"  ^bb0({bargs}, %acc: f32):")
        v = ext("%a", et)
        body(v)
        L.append(f"  }} -> {KT}")

    def elementwise_k(name, ins, body, nout=1):
        maps = ", ".join([IDK] * (len(ins) + nout))
        L.append(f"  {name} = linalg.generic {{indexing_maps = [{maps}], "
                 f"iterator_types = [{par_k}]}} ins({', '.join(ins)} : "
                 f"{', '.join([KT] * len(ins))}) outs({', '.join(['%ek'] * nout)} : "
                 f"{', '.join([KT] * nout)}) {{")
        L.append(f"  ^bb0({', '.join(f'%i{i}: f32' for i in range(len(ins) + nout))}):")
        body()
        L.append(f"  }} -> ({', '.join([KT] * nout)})" if nout > 1 else f"  }} -> {KT}")

    if kind == "bn_eval":
        mean = "%rm"

        def rstd_body():
            L.append("    %u = arith.addf %i0, %eps : f32")
            L.append("    %r = math.rsqrt %u : f32")
            L.append("    linalg.yield %r : f32")
        elementwise_k("%rstd", ["%rv"], rstd_body)
    else:
        if centred:
            def sum_body(v):
                L.append(f"    %s = arith.addf {v}, %acc : f32")
                L.append("    linalg.yield %s : f32")
            reduce("%sum", [], sum_body)

            def mean_body():
                L.append("    %m = arith.mulf %i0, %invn : f32")
                L.append("    linalg.yield %m : f32")
            elementwise_k("%mean", ["%sum"], mean_body)

            def sq_body(v):
                L.append(f"    %d = arith.subf {v}, %e0 : f32")
                L.append("    %d2 = arith.mulf %d, %d : f32")
                L.append("    %s = arith.addf %d2, %acc : f32")
                L.append("    linalg.yield %s : f32")
            reduce("%q", [("%mean", KT)], sq_body)
        else:
            def sq_body(v):
                L.append(f"    %d2 = arith.mulf {v}, {v} : f32")
                L.append("    %s = arith.addf %d2, %acc : f32")
                L.append("    linalg.yield %s : f32")
            reduce("%q", [], sq_body)

        def rstd_body():
            L.append("    %v = arith.mulf %i0, %invn : f32")
            L.append("    %u = arith.addf %v, %eps : f32")
            L.append("    %r = math.rsqrt %u : f32")
            L.append("    linalg.yield %r : f32")
        elementwise_k("%rstd", ["%q"], rstd_body)
        mean = "%mean"

    # y
    ins = [("%x", XT)]
    if centred:
        ins.append((mean, KT))
    ins.append(("%rstd", KT))
    ins.append(("%w", PT))
    if has_b:
        ins.append(("%b", PT))
    maps = [FULL] + ([KEPT] if centred else []) + [KEPT, PARAM] + \
        ([PARAM] if has_b else []) + [FULL]
    L.append(f"  %ey = tensor.empty() : {XT}")
    L.append(f"  %y = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
             f"iterator_types = [{par_all}]}} ins({', '.join(v for v, _ in ins)} : "
             f"{', '.join(t for _, t in ins)}) outs(%ey : {XT}) {{")
    bargs = [f"%a: {et}"] + (["%m: f32"] if centred else []) + ["%r: f32",
                                                                f"%wv: {param_et}"]
    if has_b:
        bargs.append(f"%bv: {param_et}")
    L.append(f"  ^bb0({', '.join(bargs)}, %o: {et}):")
    v = ext("%a", et)
    if centred:
        L.append(f"    %d = arith.subf {v}, %m : f32")
        v = "%d"
    L.append(f"    %n0 = arith.mulf {v}, %r : f32")
    wv = ext("%wv", param_et)
    L.append(f"    %n1 = arith.mulf %n0, {wv} : f32")
    res = "%n1"
    if has_b:
        bv = ext("%bv", param_et)
        L.append(f"    %n2 = arith.addf %n1, {bv} : f32")
        res = "%n2"
    if et != "f32":
        L.append(f"    %t = arith.truncf {res} : f32 to {et}")
        res = "%t"
    L.append(f"    linalg.yield {res} : {et}")
    L.append(f"  }} -> {XT}")

    outs = [("%y", XT)]
    if kind == "bn_train":
        L.append(f"  %mom = arith.constant {_f(momentum)} : f32")
        L.append(f"  %keep = arith.constant {_f(1.0 - momentum)} : f32")
        L.append(f"  %unb = arith.constant {_f(1.0 / (n - 1))} : f32")

        def run_body():  # i0 mean, i1 q, i2 rm, i3 rv
            L.append("    %a0 = arith.mulf %i2, %keep : f32")
            L.append("    %a1 = arith.mulf %i0, %mom : f32")
            L.append("    %nrm = arith.addf %a0, %a1 : f32")
            L.append("    %b0 = arith.mulf %i3, %keep : f32")
            L.append("    %uv = arith.mulf %i1, %unb : f32")
            L.append("    %b1 = arith.mulf %uv, %mom : f32")
            L.append("    %nrv = arith.addf %b0, %b1 : f32")
            L.append("    linalg.yield %nrm, %nrv : f32, f32")
        elementwise_k("%run:2", ["%mean", "%q", "%rm", "%rv"], run_body, nout=2)
        outs += [("%mean", KT), ("%rstd", KT), ("%run#0", KT), ("%run#1", KT)]
    elif kind == "stats":
        for s in stats_out:
            outs.append(("%" + s, KT))

    sig = ", ".join(f"{v}: {t}" for v, t in args)
    rets = ", ".join(t for _, t in outs)
    text = [f"func.func @main({sig}) -> ({rets}) {{"] + L + \
        [f"  return {', '.join(v for v, _ in outs)} : {rets}", "}"]
    return "\n".join(text) + "\n", [t for _, t in args], [t for _, t in outs]
