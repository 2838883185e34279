// Placeholder while the NAT end-to-end tests are written.
