fn main() {
    let sources = arrears::spec::embedded::sources();
    match arrears::spec::compile(&sources) {
        Ok(c) => println!("ok: {} rules", c.rules.len()),
        Err(d) => {
            eprintln!("{d}");
            std::process::exit(2)
        }
    }
}
