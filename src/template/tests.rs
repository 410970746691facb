//! Ansible's Jinja tests.
