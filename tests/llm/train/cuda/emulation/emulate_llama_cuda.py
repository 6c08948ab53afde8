# Emulation of so8t::llm::LlamaCuda (so8t/llm/train/llama_cuda.cuh, llama_kernels.cuh) on the CPU, for
# checking the index math and the cuBLAS arguments without a GPU: every cuBLAS call is evaluated with cuBLAS's
# column-major semantics (op, m, n, k, ld, batch strides) on flat buffers, every kernel with its own index
# expressions (grid-stride element kernels, per-row kernels, the dgain chunking), the SO(8) block functions and
# PET through the host code the CUDA kernels share (block_ops.cpp). It transcribes the .cuh files by hand: keep
# it in step when they change. Compares loss and every gradient with LlamaCpu<double>.
#
#   g++ -O2 -std=c++17 -I include -isystem /usr/include/eigen3 dump_cpu_reference.cpp -o dump_cpu
#   g++ -O2 -std=c++17 -shared -fPIC -I include -isystem /usr/include/eigen3 block_ops.cpp -o libbr.so
#   ./dump_cpu GATES B T SEGMENTS [wide] && python3 emulate_llama_cuda.py      # F32=1: float32 buffers
# (run in the directory holding libbr.so; dump_cpu writes dump.txt there). Expected: relative gradient
# differences ~1e-15 in float64, ~1e-6 (micro) to ~1e-5 (wide) with F32=1.
# Emulates LlamaCuda (llama_cuda.cuh + llama_kernels.cuh) on the CPU: every cuBLAS call with column-major
# semantics on flat buffers, every kernel with its own index math. Compares with LlamaCpu<double> (dump.txt).
import numpy as np, ctypes, math, sys, os
DT = np.float32 if os.environ.get('F32') else np.float64
lib0 = ctypes.CDLL('./libbr.so')
lib0.c_pet.restype = ctypes.c_double
_pending = []
class _L:
    def __getattr__(self, name):
        fn = getattr(lib0, name)
        def call(*a):
            r = fn(*a)
            for src, off, cp in _pending: src[off:off+len(cp)] = cp
            _pending.clear()
            return r
        return call
lib = _L()

dp = ctypes.POINTER(ctypes.c_double)
_keep = []
def ptr(a, off=0):
    if a.dtype == np.float64: return ctypes.cast(a.ctypes.data + 8*off, dp)
    cp = a[off:].astype(np.float64)
    _pending.append((a, off, cp))
    return ctypes.cast(cp.ctypes.data, dp)

L = open('dump.txt').read().split('\n')
dim, nl, H, KVH, ffn, ctx, gs, B, T = map(int, L[0].split())
ce_ref, pet_ref, loss_ref = map(float, L[1].split())
N = B*T
tok = np.array([int(L[2+i].split()[0]) for i in range(N)]); tgt = np.array([int(L[2+i].split()[1]) for i in range(N)])
segv = np.array([int(L[2+i].split()[2]) for i in range(N)], dtype=np.int32); has_seg = segv[0] >= 0
tot = int(L[2+N]); pg = np.array([[float(v) for v in L[3+N+i].split()] for i in range(tot)])
params = pg[:,0].copy(); gref = pg[:,1].copy()
tensors = {}
for line in L[3+N+tot:]:
    if line.startswith('T '):
        _, name, off, sz = line.split(); tensors[name] = (int(off), int(sz))
V = 258; d = dim; hd = d//H; kv = KVH*hd; f = ffn; group = H//KVH; nb = d//8; eps = 1e-5
def off(name): return tensors[name][0]

M = {}  # buffers
def buf(name, n): M[name] = np.zeros(n, dtype=DT); return M[name]
buf('P', tot); M['P'][:] = params; buf('G', tot)

def colmaj_get(A, base, ld, rows, cols):
    i = np.arange(rows)[:,None]; j = np.arange(cols)[None,:]
    return A[base + i + j*ld]
def sgemm(opA, opB, m, n, k, alpha, A, lda, B_, ldb, beta, C, ldc, sA=0, sB=0, sC=0, batch=1):
    for bt in range(batch):
        a = colmaj_get(M[A[0]], A[1]+bt*sA, lda, k, m).T if opA=='T' else colmaj_get(M[A[0]], A[1]+bt*sA, lda, m, k)
        b = colmaj_get(M[B_[0]], B_[1]+bt*sB, ldb, n, k).T if opB=='T' else colmaj_get(M[B_[0]], B_[1]+bt*sB, ldb, k, n)
        i = np.arange(m)[:,None]; j = np.arange(n)[None,:]
        idx = C[1]+bt*sC + i + j*ldc
        cur = M[C[0]][idx] if beta != 0 else 0
        M[C[0]][idx] = alpha*(a@b) + beta*cur
# transcription of LlamaCuda::gemm / gemm_batched
def gemm(ta, tb, Mr, Nc, K, alpha, A, lda, B_, ldb, beta, C, ldc):
    sgemm('T' if tb else 'N', 'T' if ta else 'N', Nc, Mr, K, alpha, B_, ldb, A, lda, beta, C, ldc)
def gemm_batched(ta, tb, Mr, Nc, K, alpha, A, lda, sA, B_, ldb, sB, beta, C, ldc, sC, batch):
    sgemm('T' if tb else 'N', 'T' if ta else 'N', Nc, Mr, K, alpha, B_, ldb, A, lda, beta, C, ldc, sB, sA, sC, batch)

def P(o): return ('P', o)
def Gp(o): return ('G', o)
def p_(name, o=0): return (name, o)

# ---- kernels (index math as in llama_kernels.cuh) ----
def embed_fwd(E, tokens, x):
    for k in range(N*d):
        n, i = k//d, k % d
        M[x][k] = M[E[0]][E[1] + tokens[n]*d + i]
def embed_bwd(dx, tokens, dE):
    for k in range(N*d):
        n, i = k//d, k % d
        M[dE[0]][dE[1] + tokens[n]*d + i] += M[dx][k]
def rmsnorm_fwd(x, gain, y, rstd):
    for n in range(N):
        xr = M[x][n*d:(n+1)*d]; r = 1/math.sqrt((xr*xr).sum()/d + eps); M[rstd][n] = r
        g = M[gain[0]][gain[1]:gain[1]+d] if gain else 1.0
        M[y][n*d:(n+1)*d] = xr*r*g
def rmsnorm_bwd(inp, normed, rstd, gain, dy, dx, acc):
    for n in range(N):
        ir = M[inp][n*d:(n+1)*d]; dyr = M[dy][n*d:(n+1)*d]; r = M[rstd][n]
        g = M[gain[0]][gain[1]:gain[1]+d] if gain else 1.0
        xh = ir if normed else ir*r
        dot = (dyr*g*xh).sum()/d
        v = r*(dyr*g - xh*dot)
        M[dx][n*d:(n+1)*d] = M[dx][n*d:(n+1)*d] + v if acc else v
def rms_dgain(dy, inp, rstd, dg):
    C = min(max((N + 255)//256, 1), 64)  # dgain_chunks
    for bx in range((d + 31)//32):
        for by in range(C):
            for tx in range(32):
                i = bx*32 + tx
                if i >= d: continue
                t = 0.0
                for ty in range(8):
                    for n in range(by*8 + ty, N, 8*C): t += M[dy][n*d+i]*(M[inp][n*d+i]*(M[rstd][n] if rstd else 1.0))
                M[dg[0]][dg[1]+i] += t
def mul_rowvec(a, g, out):
    for k in range(N*d): M[out][k] = M[a][k]*M[g[0]][g[1] + k % d]
cs = np.zeros(T*(hd//2)); sn = np.zeros(T*(hd//2))
for t in range(T):
    for i in range(hd//2):
        fr = 10000.0**(-2.0*i/hd); cs[t*(hd//2)+i] = math.cos(t*fr); sn[t*(hd//2)+i] = math.sin(t*fr)
def rope(a, width, inverse):
    half = hd//2; pairs = width//2; A = M[a]
    for p in range(N*pairs):
        n = p//pairs; q = p % pairs; i = q % half; t = n % T
        e = n*width + 2*q
        c = cs[t*half+i]; s = -sn[t*half+i] if inverse else sn[t*half+i]
        a0, a1 = A[e], A[e+1]; A[e] = a0*c - a1*s; A[e+1] = a0*s + a1*c
def softmax_causal(att):
    A = M[att]
    for rowi in range(B*H*T):
        i = rowi % T; row = A[rowi*T:(rowi+1)*T]
        mx = row[:i+1].max(); e = np.exp(row[:i+1]-mx); row[:i+1] = e/e.sum(); row[i+1:] = 0
def softmax_causal_bwd(att, dP, scale):
    A = M[att]; D = M[dP]
    for rowi in range(B*H*T):
        i = rowi % T; a = A[rowi*T:(rowi+1)*T]; g = D[rowi*T:(rowi+1)*T]
        dot = (a[:i+1]*g[:i+1]).sum(); g[:i+1] = a[:i+1]*(g[:i+1]-dot)*scale; g[i+1:] = 0
def swiglu_fwd(h1, h3, hg):
    a = M[h1]; M[hg][:] = a/(1+np.exp(-a))*M[h3]
def swiglu_bwd(h1, h3, dhg, dh1, dh3):
    a = M[h1]; sg = 1/(1+np.exp(-a)); M[dh3][:] = M[dhg]*(a*sg); M[dh1][:] = M[dhg]*M[h3]*sg*(1+a*(1-sg))
def gate_fwd(x, R, y):
    for k in range(N*d):
        n = k//d; col = k % d; blk = col//8; r = col % 8
        M[y][k] = sum(M[R][blk*64 + r*8 + c]*M[x][n*d + blk*8 + c] for c in range(8))
def gate_bwd_dx(dy, R, dx):
    for k in range(N*d):
        n = k//d; col = k % d; blk = col//8; c = col % 8
        M[dx][k] = sum(M[dy][n*d + blk*8 + r]*M[R][blk*64 + c + r*8] for r in range(8))
def gate_bwd_dR(dy, x, dR):
    for idd in range(nb*64):
        blk = idd//64; r = (idd//8) % 8; c = idd % 8
        M[dR][idd] = sum(M[dy][n*d+blk*8+r]*M[x][n*d+blk*8+c] for n in range(N))
def ce_fwd(logits, rl):
    for n in range(N):
        p = M[logits][n*V:(n+1)*V]; e = np.exp(p - p.max()); p[:] = e/e.sum()
        M[rl][n] = -math.log(max(p[tgt[n]], 1e-300))
def ce_bwd(probs, dl, invN):
    for k in range(N*V):
        n = k//V; j = k % V; v = M[probs][k]*invN
        M[dl][k] = v - invN if j == tgt[n] else v

# ---- LlamaCuda::resize ----
for l in range(nl+1): buf('x%d'%l, N*d)
for l in range(nl):
    for nm, n in [('xmid',N*d),('xn1',N*d),('rstd1',N),('q',N*d),('k',N*kv),('v',N*kv),('att',B*H*T*T),('ao',N*d),('go',N*d),
                  ('xn2',N*d),('rstd2',N),('h1',N*f),('h3',N*f),('hg',N*f),('R',nb*64),('Rsafe',nb*64),('Rcmd',nb*64)]:
        buf(nm+str(l), n)
for nm in ['u','xf','dxf','du','dx','dxn','dq','dao','dgo']: buf(nm, N*d)
buf('rstdf', N); buf('probs', N*V); buf('dlogits', N*V); buf('dk', N*kv); buf('dv', N*kv)
for nm in ['dh1','dh3','dhg']: buf(nm, N*f)
buf('dP', B*H*T*T); buf('rl', N); buf('dR', nb*64); buf('dRs', nb*64); buf('dRc', nb*64)

def lo(l, name): return off('blk.%d.%s' % (l, name))
def rotation(l): return 'Rsafe%d'%l if gs == 1 else 'R%d'%l
def gate_out(l): return 'go%d'%l if gs > 0 else 'ao%d'%l

def layer_forward(l):
    TT = T*T; HTT = H*TT; n = N
    rmsnorm_fwd('x%d'%l, P(lo(l,'attn_norm.weight')), 'xn1%d'%l, 'rstd1%d'%l)
    gemm(False, True, n, d, d, 1., p_('xn1%d'%l), d, P(lo(l,'attn_q.weight')), d, 0., p_('q%d'%l), d)
    gemm(False, True, n, kv, d, 1., p_('xn1%d'%l), d, P(lo(l,'attn_k.weight')), d, 0., p_('k%d'%l), kv)
    gemm(False, True, n, kv, d, 1., p_('xn1%d'%l), d, P(lo(l,'attn_v.weight')), d, 0., p_('v%d'%l), kv)
    rope('q%d'%l, d, False); rope('k%d'%l, kv, False)
    scale = 1/math.sqrt(hd)
    for h in range(H):
        g = h//group
        gemm_batched(False, True, T, T, hd, scale, p_('q%d'%l, h*hd), d, T*d, p_('k%d'%l, g*hd), kv, T*kv, 0., p_('att%d'%l, h*TT), T, HTT, B)
    softmax_causal('att%d'%l)
    for h in range(H):
        g = h//group
        gemm_batched(False, False, T, hd, T, 1., p_('att%d'%l, h*TT), T, HTT, p_('v%d'%l, g*hd), kv, T*kv, 0., p_('ao%d'%l, h*hd), d, T*d, B)
    if gs > 0:
        lib.c_block_exp(ptr(M['P'], lo(l,'so8_gate_safe')), nb, ptr(M['Rsafe%d'%l]))
        if gs == 2:
            lib.c_block_exp(ptr(M['P'], lo(l,'so8_gate_cmd')), nb, ptr(M['Rcmd%d'%l]))
            lib.c_block_compose(ptr(M['Rcmd%d'%l]), ptr(M['Rsafe%d'%l]), nb, ptr(M['R%d'%l]))
        gate_fwd('ao%d'%l, rotation(l), 'go%d'%l)
    M['xmid%d'%l][:] = M['x%d'%l]
    gemm(False, True, n, d, d, 1., p_(gate_out(l)), d, P(lo(l,'attn_output.weight')), d, 1., p_('xmid%d'%l), d)
    rmsnorm_fwd('xmid%d'%l, P(lo(l,'ffn_norm.weight')), 'xn2%d'%l, 'rstd2%d'%l)
    gemm(False, True, n, f, d, 1., p_('xn2%d'%l), d, P(lo(l,'ffn_gate.weight')), d, 0., p_('h1%d'%l), f)
    gemm(False, True, n, f, d, 1., p_('xn2%d'%l), d, P(lo(l,'ffn_up.weight')), d, 0., p_('h3%d'%l), f)
    swiglu_fwd('h1%d'%l, 'h3%d'%l, 'hg%d'%l)
    M['x%d'%(l+1)][:] = M['xmid%d'%l]
    gemm(False, True, n, d, f, 1., p_('hg%d'%l), f, P(lo(l,'ffn_down.weight')), f, 1., p_('x%d'%(l+1)), d)

def layer_backward(l):
    TT = T*T; HTT = H*TT; n = N; dX = 'dx'
    gemm(True, False, d, f, n, 1., p_(dX), d, p_('hg%d'%l), f, 1., Gp(lo(l,'ffn_down.weight')), f)
    gemm(False, False, n, f, d, 1., p_(dX), d, P(lo(l,'ffn_down.weight')), f, 0., p_('dhg'), f)
    swiglu_bwd('h1%d'%l, 'h3%d'%l, 'dhg', 'dh1', 'dh3')
    gemm(True, False, f, d, n, 1., p_('dh1'), f, p_('xn2%d'%l), d, 1., Gp(lo(l,'ffn_gate.weight')), d)
    gemm(True, False, f, d, n, 1., p_('dh3'), f, p_('xn2%d'%l), d, 1., Gp(lo(l,'ffn_up.weight')), d)
    gemm(False, False, n, d, f, 1., p_('dh1'), f, P(lo(l,'ffn_gate.weight')), d, 0., p_('dxn'), d)
    gemm(False, False, n, d, f, 1., p_('dh3'), f, P(lo(l,'ffn_up.weight')), d, 1., p_('dxn'), d)
    rms_dgain('dxn', 'xmid%d'%l, 'rstd2%d'%l, Gp(lo(l,'ffn_norm.weight')))
    rmsnorm_bwd('xmid%d'%l, 0, 'rstd2%d'%l, P(lo(l,'ffn_norm.weight')), 'dxn', dX, 1)
    gemm(True, False, d, d, n, 1., p_(dX), d, p_(gate_out(l)), d, 1., Gp(lo(l,'attn_output.weight')), d)
    gemm(False, False, n, d, d, 1., p_(dX), d, P(lo(l,'attn_output.weight')), d, 0., p_('dgo'), d)
    dao = 'dgo'
    if gs > 0:
        gate_bwd_dR('dgo', 'ao%d'%l, 'dR'); gate_bwd_dx('dgo', rotation(l), 'dao')
        if gs == 2:
            lib.c_compose_vjp(ptr(M['Rcmd%d'%l]), ptr(M['Rsafe%d'%l]), ptr(M['dR']), nb, ptr(M['dRc']), ptr(M['dRs']))
            lib.c_block_exp_vjp(ptr(M['P'], lo(l,'so8_gate_cmd')), ptr(M['dRc']), nb, ptr(M['G'], lo(l,'so8_gate_cmd')))
            lib.c_block_exp_vjp(ptr(M['P'], lo(l,'so8_gate_safe')), ptr(M['dRs']), nb, ptr(M['G'], lo(l,'so8_gate_safe')))
        else:
            lib.c_block_exp_vjp(ptr(M['P'], lo(l,'so8_gate_safe')), ptr(M['dR']), nb, ptr(M['G'], lo(l,'so8_gate_safe')))
        dao = 'dao'
    M['dk'][:] = 0; M['dv'][:] = 0
    scale = 1/math.sqrt(hd)
    for h in range(H):
        g = h//group
        gemm_batched(False, True, T, T, hd, 1., p_(dao, h*hd), d, T*d, p_('v%d'%l, g*hd), kv, T*kv, 0., p_('dP', h*TT), T, HTT, B)
        gemm_batched(True, False, T, hd, T, 1., p_('att%d'%l, h*TT), T, HTT, p_(dao, h*hd), d, T*d, 1., p_('dv', g*hd), kv, T*kv, B)
    softmax_causal_bwd('att%d'%l, 'dP', scale)
    for h in range(H):
        g = h//group
        gemm_batched(False, False, T, hd, T, 1., p_('dP', h*TT), T, HTT, p_('k%d'%l, g*hd), kv, T*kv, 0., p_('dq', h*hd), d, T*d, B)
        gemm_batched(True, False, T, hd, T, 1., p_('dP', h*TT), T, HTT, p_('q%d'%l, h*hd), d, T*d, 1., p_('dk', g*hd), kv, T*kv, B)
    rope('dq', d, True); rope('dk', kv, True)
    gemm(True, False, d, d, n, 1., p_('dq'), d, p_('xn1%d'%l), d, 1., Gp(lo(l,'attn_q.weight')), d)
    gemm(True, False, kv, d, n, 1., p_('dk'), kv, p_('xn1%d'%l), d, 1., Gp(lo(l,'attn_k.weight')), d)
    gemm(True, False, kv, d, n, 1., p_('dv'), kv, p_('xn1%d'%l), d, 1., Gp(lo(l,'attn_v.weight')), d)
    gemm(False, False, n, d, d, 1., p_('dq'), d, P(lo(l,'attn_q.weight')), d, 0., p_('dxn'), d)
    gemm(False, False, n, d, kv, 1., p_('dk'), kv, P(lo(l,'attn_k.weight')), d, 1., p_('dxn'), d)
    gemm(False, False, n, d, kv, 1., p_('dv'), kv, P(lo(l,'attn_v.weight')), d, 1., p_('dxn'), d)
    rms_dgain('dxn', 'x%d'%l, 'rstd1%d'%l, Gp(lo(l,'attn_norm.weight')))
    rmsnorm_bwd('x%d'%l, 0, 'rstd1%d'%l, P(lo(l,'attn_norm.weight')), 'dxn', dX, 1)

# forward
embed_fwd(P(off('token_embd.weight')), tok, 'x0')
for l in range(nl): layer_forward(l)
rmsnorm_fwd('x%d'%nl, None, 'u', 'rstdf')
mul_rowvec('u', P(off('output_norm.weight')), 'xf')
gemm(False, True, N, V, d, 1., p_('xf'), d, P(off('output.weight')), d, 0., p_('probs'), V)
ce_fwd('probs', 'rl')
ce = M['rl'].sum()/N
segp = segv.ctypes.data_as(ctypes.POINTER(ctypes.c_int)) if has_seg else None
pet = lib.c_pet(ptr(M['u']), B, T, d, segp, None, ctypes.c_double(1.0), 0)
lam = 0.7
print('ce %.12g ref %.12g | pet %.12g ref %.12g' % (ce, ce_ref, pet, pet_ref))
# backward
M['G'][:] = 0
ce_bwd('probs', 'dlogits', 1.0/N)
gemm(True, False, V, d, N, 1., p_('dlogits'), V, p_('xf'), d, 1., Gp(off('output.weight')), d)
gemm(False, False, N, d, V, 1., p_('dlogits'), V, P(off('output.weight')), d, 0., p_('dxf'), d)
rms_dgain('dxf', 'u', None, Gp(off('output_norm.weight')))
mul_rowvec('dxf', P(off('output_norm.weight')), 'du')
lib.c_pet(ptr(M['u']), B, T, d, segp, ptr(M['du']), ctypes.c_double(lam), 1)
rmsnorm_bwd('u', 1, 'rstdf', None, 'du', 'dx', 0)
for l in range(nl-1, -1, -1): layer_backward(l)
embed_bwd('dx', tok, Gp(off('token_embd.weight')))
worst = 0
for name, (o, sz) in tensors.items():
    g = M['G'][o:o+sz]; r = gref[o:o+sz]
    rel = np.abs(g-r).max()/max(np.abs(r).max(), 1e-30)
    worst = max(worst, rel)
    if rel > 1e-9: print('MISMATCH', name, rel)
print('worst rel grad diff %.3g' % worst, 'ce diff %.3g pet diff %.3g' % (abs(ce-ce_ref), abs(pet-pet_ref)))
