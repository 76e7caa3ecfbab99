//! Row-major single-precision matrix products over `matrixmultiply::sgemm` (AVX2/FMA/AVX-512
//! kernels selected at run time, single-threaded: parallelism is across documents).

/// `c[m,n] = A · B + beta · c` with `A[i,l] = a[i·ra + l·ca]` and `B[l,j] = b[l·rb + j·cb]`
/// (row and column strides); `c` is row-major `[m,n]`. The callers below assert bounds.
fn sgemm_strided(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    (ra, ca): (usize, usize),
    b: &[f32],
    (rb, cb): (usize, usize),
    beta: f32,
    c: &mut [f32],
) {
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: every public wrapper asserts that `a`, `b` and `c` hold all the elements its
    // layout addresses, so every index sgemm computes from these strides is in bounds.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            ra as isize,
            ca as isize,
            b.as_ptr(),
            rb as isize,
            cb as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `c[m,n] = a[m,k] · b[n,k]ᵀ + beta · c`.
pub fn gemm_nt(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    sgemm_strided((m, k, n), a, (k, 1), b, (1, k), beta, c);
}

/// `c[m,n] = a[m,k] · b[k,n] + beta · c`.
pub fn gemm_nn(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    sgemm_strided((m, k, n), a, (k, 1), b, (n, 1), beta, c);
}

/// `c[m,n] = a[k,m]ᵀ · b[k,n] + beta · c` (weight gradients: `dW += dYᵀ · X`).
pub fn gemm_tn(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    sgemm_strided((m, k, n), a, (1, m), b, (n, 1), beta, c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        m: usize,
        k: usize,
        n: usize,
        a: impl Fn(usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
    ) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a(i, l) * b(l, j)).sum();
            }
        }
        c
    }

    #[test]
    fn products_match_naive() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c = vec![0.0; m * n];
        gemm_nn(m, k, n, &a, &b, 0.0, &mut c);
        let r = naive(m, k, n, |i, l| a[i * k + l], |l, j| b[l * n + j]);
        assert!(c.iter().zip(&r).all(|(x, y)| (x - y).abs() < 1e-5));
        // b as [n,k]
        gemm_nt(m, k, n, &a, &b, 0.0, &mut c);
        let r = naive(m, k, n, |i, l| a[i * k + l], |l, j| b[j * k + l]);
        assert!(c.iter().zip(&r).all(|(x, y)| (x - y).abs() < 1e-5));
        // a as [k,m]
        gemm_tn(m, k, n, &a, &b, 0.0, &mut c);
        let r = naive(m, k, n, |i, l| a[l * m + i], |l, j| b[l * n + j]);
        assert!(c.iter().zip(&r).all(|(x, y)| (x - y).abs() < 1e-5));
    }
}
