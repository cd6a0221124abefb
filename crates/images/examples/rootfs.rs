//! Prints where the root of a stored image is, unpacking it if needed:
//! `cargo run -p images --example rootfs -- debian:trixie-slim`.

fn main() {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!("usage: rootfs <image reference>");
        std::process::exit(2);
    };
    let run = || -> Result<std::path::PathBuf, String> {
        let reference: images::Reference = name.parse().map_err(|e| format!("{name}: {e}"))?;
        let store = images::Store::user_default().map_err(|e| e.to_string())?;
        let image = store
            .image(&reference)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} is not in {}", reference.whole(), store.root().display()))?;
        store.rootfs(&image).map_err(|e| e.to_string())
    };
    match run() {
        Ok(root) => println!("{}", root.display()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
