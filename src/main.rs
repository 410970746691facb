fn main() {
    std::process::exit(troupe::main_entry());
}
