//===- VectorEmitter.cpp - machinery of the vector lowering ---------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "VectorEmitter.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtovector;

using Run = KernelLayout::Run;

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

void VectorEmitter::storeWide(Value v, Value mem, Value i, Value mask) {
  storeAt(v, mem, i, mask, /*aligned=*/false);
}

Value VectorEmitter::loadRaw(Value mem, Value i, Value mask) {
  Type elt = cast<MemRefType>(mem.getType()).getElementType();
  auto vt = VectorType::get({vl}, elt);
  if (!mask)
    return vector::LoadOp::create(b, loc, vt, mem, ValueRange{i});
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vt, b.getZeroAttr(elt)));
  return vector::MaskedLoadOp::create(b, loc, vt, mem, ValueRange{i}, mask,
                                      zero);
}

void VectorEmitter::storeVec(Value v, Value mem, Value i, Value mask,
                             bool streaming) {
  Type elt = cast<MemRefType>(mem.getType()).getElementType();
  // The prologue's value beside each vector of y (C10): the same elements,
  // whose inputs the apply has just read (the loads repeat, from cache).
  if (mem == y && h) {
    SmallVector<Value> args;
    for (Value in : xInputs)
      args.push_back(loadRaw(in, i, mask));
    Value hv = applyRegionOnVectors(b, loc, op.getPrologue(), args, vl);
    // Plain stores: `streaming` says y's address is aligned, not h's.
    if (mask)
      vector::MaskedStoreOp::create(b, loc, h, ValueRange{i}, mask, hv);
    else
      vector::StoreOp::create(b, loc, hv, h, ValueRange{i});
  }
  storeAt(prepareStore(op, v, elt, mem == y), mem, i, mask, streaming);
}

Value VectorEmitter::widenToF32(Value mem) {
  auto type = cast<MemRefType>(mem.getType());
  if (type.getElementType().isF32())
    return mem;
  if (!type.hasStaticShape()) {
    // Parameters of a dynamic length (LayerNorm over ?x?): full vectors,
    // then a masked tail.
    Value n = memref::DimOp::create(b, loc, mem, 0);
    Value wide = allocScratch(Extent(n), f32Type);
    Value full = idiv(n, vl);
    forLoop(cI(0), full, {}, [&](Value k, ValueRange) -> SmallVector<Value> {
      Value i = imul(k, vl);
      storeVec(loadVec(mem, i), wide, i);
      return {};
    });
    Value tail = imul(full, vl);
    maskedTail(tail, Extent(n), [&](Value mask) {
      storeVec(loadVec(mem, tail, mask), wide, tail, mask);
    });
    return wide;
  }
  int64_t n = type.getNumElements();
  Value wide = memref::AllocOp::create(
      b, loc, MemRefType::get({n}, f32Type), ValueRange{},
      b.getI64IntegerAttr(std::max<int64_t>(vl * 4, 64)));
  int64_t full = n / vl;
  forLoop(full, [&](Value k) {
    Value i = imul(k, vl);
    storeVec(loadVec(mem, i), wide, i);
  });
  if (n % vl) {
    Value mask = tailMask(n % vl);
    storeVec(loadVec(mem, cI(full * vl), mask), wide, cI(full * vl), mask);
  }
  return wide;
}

//===----------------------------------------------------------------------===//
// Loops
//===----------------------------------------------------------------------===//

void VectorEmitter::forLoop(int64_t n, function_ref<void(Value)> body) {
  if (n == 0)
    return;
  if (n == 1) {
    body(cI(0));
    return;
  }
  forLoop(cI(0), cI(n), {}, [&](Value iv, ValueRange) {
    body(iv);
    return SmallVector<Value>{};
  });
}

void VectorEmitter::parallelLoop(int64_t n, function_ref<void(Value)> body) {
  if (!parallel || n == 1) {
    forLoop(n, body);
    return;
  }
  scf::ParallelOp::create(
      b, loc, ValueRange{cI(0)}, ValueRange{cI(n)}, ValueRange{cI(1)},
      [&](OpBuilder &nb, Location, ValueRange ivs) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        body(ivs[0]);
      });
}

void VectorEmitter::parallelLoop(Value n, function_ref<void(Value)> body) {
  auto loopBody = [&](OpBuilder &nb, Location, ValueRange ivs) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
    body(ivs[0]);
  };
  if (!parallel) {
    forLoop(cI(0), n, {}, [&](Value iv, ValueRange) {
      body(iv);
      return SmallVector<Value>{};
    });
    return;
  }
  scf::ParallelOp::create(b, loc, ValueRange{cI(0)}, ValueRange{n},
                          ValueRange{cI(1)}, loopBody);
}

void VectorEmitter::flatLoop(
    Value start, const Extent &len, int64_t lanes,
    function_ref<void(Value, Value, Value, bool)> body) {
  auto laneOf = [&](Value off) { return irem(off, lanes); };
  // The lane advances by vl per vector: one compare instead of a division.
  auto step = [&](Value lane) -> Value {
    Value next = iadd(lane, vl);
    if (vl > lanes)
      return irem(next, lanes);
    Value wrap = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, next,
                                       cI(lanes));
    return select(wrap, arith::SubIOp::create(b, loc, next, cI(lanes)), next);
  };
  auto sub = [&](Value a, Value c) -> Value {
    return arith::SubIOp::create(b, loc, a, c);
  };
  // Unmasked vectors from `first` on, the lane carried through the loop.
  auto fullRun = [&](Value first, Value count, bool aligned) {
    forLoop(cI(0), count, {laneOf(first)},
            [&](Value i, ValueRange args) -> SmallVector<Value> {
              body(iadd(first, imul(i, vl)), args[0], Value(), aligned);
              return {step(args[0])};
            });
  };
  auto plain = [&] {
    if (!len.isStatic()) {
      Value full = idiv(len.value, vl);
      fullRun(cI(0), full, false);
      Value tail = imul(full, vl);
      maskedTail(tail, len,
                 [&](Value mask) { body(tail, laneOf(tail), mask, false); });
      return;
    }
    int64_t full = len.fixed / vl;
    if (full > 0)
      fullRun(cI(0), cI(full), false);
    if (len.fixed % vl)
      body(cI(full * vl), laneOf(cI(full * vl)), tailMask(len.fixed % vl),
           false);
  };
  if (!nontemporal || (len.isStatic() && len.fixed < kMinStreamRun)) {
    plain();
    return;
  }
  auto streaming = [&] {
    Value head = streamHead(y, start, len);
    forLoop(cI(0), idiv(iadd(head, vl - 1), vl), {},
            [&](Value i, ValueRange) -> SmallVector<Value> {
              Value off = imul(i, vl);
              body(off, laneOf(off), maskTo(sub(head, off)), false);
              return {};
            });
    Value full = idiv(sub(idx(len), head), vl);
    fullRun(head, full, true);
    Value tail = iadd(head, imul(full, vl));
    maskedTail(tail, len,
               [&](Value mask) { body(tail, laneOf(tail), mask, false); });
  };
  if (len.isStatic()) {
    streaming();
    return;
  }
  // Short runs store normally (kMinStreamRun), decided at run time.
  ifThenElse(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, len.value,
                                   cI(kMinStreamRun)),
             streaming, plain);
}

//===----------------------------------------------------------------------===//
// Parameters and statistics
//===----------------------------------------------------------------------===//

Value VectorEmitter::segmentParamOffset(Value s) {
  auto hasParams = [&](Run run) {
    return llvm::any_of(l.dims[run],
                        [&](int64_t d) { return l.paramStride[d] != 0; });
  };
  Value off;
  if (hasParams(Run::P0))
    off = addOpt(off, runParamOffset(Run::P0, idiv(s, emul(r1Len, p1Len))));
  if (hasParams(Run::R1))
    off = addOpt(off, runParamOffset(Run::R1, irem(idiv(s, p1Len), r1Len)));
  if (hasParams(Run::P1))
    off = addOpt(off, runParamOffset(Run::P1, irem(s, p1Len)));
  return off ? off : cI(0);
}

ParamRun VectorEmitter::paramRun(Value mem, Value offset, int64_t stride) {
  if (!mem)
    return {};
  if (stride == 0)
    return {loadScalar(mem, offset), {}, {}};
  return {{}, mem, offset};
}

std::pair<Value, Value> VectorEmitter::storeStats(Value t, Value mean,
                                                  Value var) {
  Statistics st = statistics.finalize(mean, var);
  statistics.store(st, ArrayRef<Value>(outs).drop_front(), t);
  return {st.mean, st.rstd};
}

//===----------------------------------------------------------------------===//
// Reductions and the apply over one contiguous run
//===----------------------------------------------------------------------===//

SmallVector<Value> VectorEmitter::reduceBlock(Value base, Value firstGroup,
                                              const Extent &count,
                                              ValueRange totals,
                                              unsigned numAcc, ReduceBody body,
                                              Accumulate acc) {
  int64_t group = vl * unroll;
  SmallVector<Value> inits(unroll * numAcc,
                           acc == Accumulate::F64 ? zeroWide() : zeroV());
  SmallVector<Value> inner =
      forLoop(cI(0), idx(count), inits, [&](Value g, ValueRange args) {
        SmallVector<Value> accs(args);
        Value start = iadd(base, imul(iadd(firstGroup, g), group));
        auto slot = [&](int64_t u) {
          return MutableArrayRef<Value>(accs).slice(u * numAcc, numAcc);
        };
        // bf16 in pairs (an even unroll): two vectors' elements as their
        // even and odd halves, one load and a shift and a mask for both.
        bool inPairs = pairs && unroll % 2 == 0;
        for (int64_t u = 0; u < unroll; u += inPairs ? 2 : 1) {
          Value at = iadd(start, u * vl);
          if (!inPairs) {
            body(loadVec(x, at), Value(), slot(u));
            continue;
          }
          auto [even, odd] = loadPair(at);
          body(even, Value(), slot(u));
          body(odd, Value(), slot(u + 1));
        }
        return accs;
      });
  SmallVector<Value> out(totals);
  for (unsigned k = 0; k < numAcc; ++k) {
    // Pairwise over the unrolled partials.
    SmallVector<Value> parts;
    for (int64_t u = 0; u < unroll; ++u)
      parts.push_back(inner[u * numAcc + k]);
    while (parts.size() > 1) {
      SmallVector<Value> next;
      for (size_t i = 0; i + 1 < parts.size(); i += 2)
        next.push_back(fadd(parts[i], parts[i + 1]));
      if (parts.size() % 2)
        next.push_back(parts.back());
      parts = next;
    }
    out[k] =
        fadd(out[k], acc == Accumulate::F32BlocksF64Totals ? toF64(parts[0])
                                                           : parts[0]);
  }
  return out;
}

SmallVector<Value> VectorEmitter::reduceRun(Value base, const Extent &len,
                                            unsigned numAcc, ReduceBody body,
                                            Accumulate acc) {
  bool wideTotals = acc != Accumulate::F32;
  SmallVector<Value> totals(numAcc, wideTotals ? zeroWide() : zeroV());
  int64_t group = vl * unroll;
  int64_t blockVectors = acc == Accumulate::F32BlocksF64Totals
                             ? kSquareBlockVectors
                             : kSumBlockVectors;
  int64_t blockGroups = std::max<int64_t>(1, blockVectors / unroll);
  bool separate = acc == Accumulate::F32BlocksF64Totals;
  if (!len.isStatic()) {
    // The static path's blocks and last vectors, their counts at run time.
    Value groups = idiv(len.value, group);
    Value nBlocks = idiv(groups, blockGroups);
    totals = forLoop(cI(0), nBlocks, totals, [&](Value blk, ValueRange tot) {
      return reduceBlock(base, imul(blk, blockGroups), blockGroups, tot, numAcc,
                         body, acc);
    });
    Value doneGroups = imul(nBlocks, blockGroups);
    totals = reduceBlock(
        base, doneGroups,
        arith::SubIOp::create(b, loc, groups, doneGroups).getResult(), totals,
        numAcc, body, acc);
    Value done = imul(groups, group);
    SmallVector<Value> rest =
        separate ? SmallVector<Value>(numAcc, zeroV()) : totals;
    Value full = idiv(arith::SubIOp::create(b, loc, len.value, done), vl);
    rest = forLoop(cI(0), full, rest, [&](Value k, ValueRange args) {
      SmallVector<Value> a(args);
      body(loadVec(x, iadd(base, iadd(done, imul(k, vl)))), Value(), a);
      return a;
    });
    Value tail = iadd(done, imul(full, vl));
    rest = maskedTail(tail, len, rest, [&](Value mask) {
      SmallVector<Value> a(rest);
      body(loadVec(x, iadd(base, tail), mask), mask, a);
      return a;
    });
    if (!separate)
      return rest;
    for (unsigned k = 0; k < numAcc; ++k)
      totals[k] = fadd(totals[k], toF64(rest[k]));
    return totals;
  }
  int64_t n = len.fixed;
  int64_t groups = n / group;
  int64_t nBlocks = groups / blockGroups, remGroups = groups % blockGroups;
  if (nBlocks > 0)
    totals =
        forLoop(cI(0), cI(nBlocks), totals, [&](Value blk, ValueRange tot) {
          return reduceBlock(base, imul(blk, blockGroups), blockGroups, tot,
                             numAcc, body, acc);
        });
  if (remGroups > 0)
    totals = reduceBlock(base, cI(nBlocks * blockGroups), remGroups, totals,
                         numAcc, body, acc);
  int64_t done = groups * group;
  if (done == n)
    return totals;
  // The last vectors: into the totals, or, with f32 blocks, into one more.
  SmallVector<Value> rest =
      separate ? SmallVector<Value>(numAcc, zeroV()) : totals;
  for (; done + vl <= n; done += vl)
    body(loadVec(x, iadd(base, done)), Value(), rest);
  if (done < n) {
    Value mask = tailMask(n - done);
    body(loadVec(x, iadd(base, done), mask), mask, rest);
  }
  if (!separate)
    return rest;
  for (unsigned k = 0; k < numAcc; ++k)
    totals[k] = fadd(totals[k], toF64(rest[k]));
  return totals;
}

std::pair<Value, Value> VectorEmitter::runMoments(Value base, const Extent &n,
                                                  bool wide) {
  SmallVector<Value> s =
      reduceRun(base, n, 1, [&](Value v, Value, MutableArrayRef<Value> a) {
        a[0] = fadd(a[0], v);
      });
  return runMomentsFrom(base, n, fdiv(hsum(s[0]), countF32(n)), wide);
}

std::pair<Value, Value>
VectorEmitter::runMomentsOnePass(Value base, const Extent &n, bool wide) {
  // The shift: the mean of the run's first vector. For data spread about a
  // mean, it lies within sqrt(kShiftMaxOffset) standard deviations of the
  // mean but for about 0.5% of runs with 8 lanes (|z| > sqrt(8)).
  Value first, shift;
  if (n.isStatic()) {
    int64_t sample = std::min<int64_t>(n.fixed, vl);
    first = loadVec(x, base, sample < vl ? tailMask(sample) : Value());
    shift = fdiv(hsum(first), cF(double(sample)));
  } else {
    // A run shorter than a vector (none for 0: the NaN shift then takes
    // the two passes, whose mean is 0 / 0 as torch's).
    Value sample = arith::MinUIOp::create(b, loc, n.value, cI(vl));
    first = loadVec(x, base, maskTo(sample));
    shift = fdiv(hsum(first), countF32(sample));
  }
  Value accurate;
  std::pair<Value, Value> onePass =
      runMomentsFrom(base, n, shift, wide, &accurate);
  auto yieldIn = [&](OpBuilder &nb, function_ref<std::pair<Value, Value>()> f) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
    auto [m, v] = f();
    scf::YieldOp::create(b, loc, ValueRange{m, v});
  };
  auto ifOp = scf::IfOp::create(
      b, loc, accurate,
      [&](OpBuilder &nb, Location) { yieldIn(nb, [&] { return onePass; }); },
      [&](OpBuilder &nb, Location) {
        yieldIn(nb, [&] { return runMoments(base, n, wide); });
      });
  return {ifOp.getResult(0), ifOp.getResult(1)};
}

std::pair<Value, Value> VectorEmitter::runMomentsFrom(Value base,
                                                      const Extent &n, Value m1,
                                                      bool wide,
                                                      Value *accurate) {
  Value count = countF32(n);
  Value m1v = splat(m1);
  SmallVector<Value> t =
      reduceRun(base, n, 2, [&](Value v, Value mask, MutableArrayRef<Value> a) {
        Value d = fsub(v, m1v);
        if (mask)
          d = select(mask, d, zeroV());
        a[0] = fadd(a[0], d);
        a[1] = fma(d, d, a[1]);
      });
  return statistics.meanVarFromShiftedSums(
      count, m1, t[0], t[1], wide ? b.getF64Type() : Type(), accurate);
}

Value VectorEmitter::runMeanSquare(Value base, const Extent &n) {
  return fdiv(pass1Sum(pass1Run(base, n)), countF32(n));
}

void VectorEmitter::pass1Step(Value v, MutableArrayRef<Value> a) {
  if (centered) {
    a[0] = fadd(a[0], v);
    return;
  }
  if (!wideSquares()) {
    a[0] = fma(v, v, a[0]);
    return;
  }
  Value wide = toF64(v);
  a[0] = fma(wide, wide, a[0]);
}

SmallVector<Value> VectorEmitter::pass1Run(Value base, const Extent &n) {
  return reduceRun(
      base, n, 1,
      [&](Value v, Value, MutableArrayRef<Value> a) { pass1Step(v, a); },
      centered        ? Accumulate::F32
      : wideSquares() ? Accumulate::F64
                      : Accumulate::F32BlocksF64Totals);
}

void VectorEmitter::applyRun(Value base, const Extent &n, Value mean,
                             Value rstd, ParamRun pw, ParamRun pb,
                             Value ahead) {
  // Parameters constant along the run fold into one scale.
  RunApply a;
  a.base = base;
  a.ahead = ahead;
  a.pw = pw;
  a.pb = pb;
  a.fold = !pw.mem && !pb.mem;
  a.meanV = mean ? splat(mean) : Value();
  a.scaleV = splat(a.fold && pw ? fmul(rstd, pw.scalar) : rstd);
  a.wConst = pw.scalar ? splat(pw.scalar) : Value();
  a.bConst = pb.scalar ? splat(pb.scalar) : Value();
  int64_t pairLen = 2 * vl;
  auto emit = [&](bool streaming) {
    auto vectors = [&] {
      vectorLoop(n, streaming ? base : Value(),
                 [&](Value off, Value mask, bool aligned) {
                   applyVector(a, off, mask, aligned);
                 });
    };
    if (!pairs || (n.isStatic() && n.fixed < pairLen)) {
      vectors();
      return;
    }
    auto pairLoop = [&] {
      Value numPairs =
          n.isStatic() ? cI(n.fixed / pairLen) : idiv(n.value, pairLen);
      forLoop(cI(0), numPairs, {}, [&](Value k, ValueRange) {
        applyPair(a, imul(k, pairLen), streaming);
        return SmallVector<Value>{};
      });
      // Fewer than 2 * vl elements are left: plain stores.
      if (n.isStatic()) {
        int64_t done = n.fixed / pairLen * pairLen;
        if (n.fixed - done >= vl) {
          applyVector(a, cI(done), Value(), false);
          done += vl;
        }
        if (done < n.fixed)
          applyVector(a, cI(done), tailMask(n.fixed - done), false);
        return;
      }
      Value done = imul(numPairs, pairLen);
      Value hasFull = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::uge,
          arith::SubIOp::create(b, loc, n.value, done), cI(vl));
      ifThenElse(hasFull, [&] { applyVector(a, done, Value(), false); });
      Value tail = iadd(done, select(hasFull, cI(vl), cI(0)));
      maskedTail(tail, n,
                 [&](Value mask) { applyVector(a, tail, mask, false); });
    };
    if (!streaming) {
      pairLoop();
      return;
    }
    // Streaming pairs from the run's start need y aligned to a vector there
    // (applyPair), i.e. no masked head; else the vectors with their head.
    Value aligned = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          streamHead(y, base, n), cI(0));
    ifThenElse(aligned, pairLoop, vectors);
  };
  if (n.isStatic()) {
    emit(nontemporal && n.fixed >= kMinStreamRun);
    return;
  }
  if (!nontemporal) {
    emit(false);
    return;
  }
  Value longRun = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                        n.value, cI(kMinStreamRun));
  ifThenElse(longRun, [&] { emit(true); }, [&] { emit(false); });
}

Value VectorEmitter::applyMath(const RunApply &a, Value v, Value wv, Value bv) {
  Value d = a.meanV ? fsub(v, a.meanV) : v;
  if (a.fold)
    return a.bConst ? fma(d, a.scaleV, a.bConst) : fmul(d, a.scaleV);
  Value t = fmul(d, a.scaleV);
  if (wv)
    return bv ? fma(t, wv, bv) : fmul(t, wv);
  return bv ? fadd(t, bv) : t;
}

void VectorEmitter::applyVector(const RunApply &a, Value off, Value mask,
                                bool aligned) {
  Value v = loadVec(x, iadd(a.base, off), mask);
  Value wv, bv;
  if (!a.fold) {
    wv = a.pw.mem ? loadVec(a.pw.mem, iadd(a.pw.base, off), mask) : a.wConst;
    bv = a.pb.mem ? loadVec(a.pb.mem, iadd(a.pb.base, off), mask) : a.bConst;
  }
  Value r = applyMath(a, v, wv, bv);
  storeVec(r, y, iadd(a.base, off), mask, aligned);
  // Prefetches cannot fault, but the offset stays inside the buffers: the
  // row prefetched is one of the kernel's (Row.cpp clamps it).
  if (a.ahead)
    prefetchAt(xInputs, iadd(a.ahead, off));
}

void VectorEmitter::applySegment(Value s, Value base, Value mean, Value rstd,
                                 Value ahead) {
  Value pOff = (w || bias) ? segmentParamOffset(s) : Value();
  // The apply over inner run j of the segment (R2i elements).
  auto inner = [&](Value j) {
    Value off = pOff ? iadd(pOff, imul(j, l.r2oParamStride)) : Value();
    Value start = imul(j, r2iLen);
    applyRun(iadd(base, start), r2iLen, mean, rstd,
             paramRun(w, off, l.r2iParamStride),
             paramRun(bias, off, l.r2iParamStride),
             ahead ? iadd(ahead, start) : Value());
  };
  if (r2oLen.isStatic()) {
    forLoop(r2oLen.fixed, inner);
    return;
  }
  forLoop(cI(0), r2oLen.value, {}, [&](Value j, ValueRange) {
    inner(j);
    return SmallVector<Value>{};
  });
}
