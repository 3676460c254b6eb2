"""AOT on the GPU: libnorms_cuda.so (examples/aot/layer_norm.mlir, --target=cuda)
called through ctypes on torch CUDA tensors, against torch.native_layer_norm."""
import ctypes, sys, torch
lib = ctypes.CDLL(sys.argv[1])
torch.manual_seed(0)
x = torch.randn(8, 6, 3, 4, device="cuda")
w = torch.rand(3, 4, device="cuda") + 0.5
b = torch.rand(3, 4, device="cuda") - 0.5
x0 = x.clone()
y = torch.empty_like(x); m = torch.empty(8, 6, 1, 1, device="cuda"); r = torch.empty_like(m)
p = lambda t: ctypes.c_void_p(t.data_ptr())
rc = lib.ln(p(x), p(w), p(b), p(y), p(m), p(r))
torch.cuda.synchronize()
if rc:
    lib.norms_cuda_last_error.restype = ctypes.c_char_p
    print("ln returned", rc, lib.norms_cuda_last_error()); sys.exit(1)
ry, rm, rr = torch.native_layer_norm(x.double(), [3, 4], w.double(), b.double(), 1e-5)
err = lambda a, e: ((a.double() - e.reshape(a.shape)).abs().max().item())
print("aot ln: max err y %.3g mean %.3g rstd %.3g; input untouched: %s"
      % (err(y, ry), err(m, rm), err(r, rr), torch.equal(x, x0)))
ok = err(y, ry) < 1e-5 and err(m, rm) < 1e-5 and err(r, rr) < 1e-4 * rr.abs().max().item() and torch.equal(x, x0)
print("AOT", "OK" if ok else "FAIL"); sys.exit(0 if ok else 1)
