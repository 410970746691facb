mod e2e_testbed;
mod support;
