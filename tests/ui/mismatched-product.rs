// The kernels carry shapes in their types: a product of mismatched shapes does not compile.
fn main() {
    let w = [[0.0f32; 3]; 2];
    let x = [0.0f32; 4];
    let _y = mlp::kernels::gemv(&w, &x);
}
