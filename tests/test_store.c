int main(void) { return 77; /* skipped until written */ }
