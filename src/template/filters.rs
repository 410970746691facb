//! Ansible's filters.
