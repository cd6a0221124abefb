//! Runs lab 3 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab03_matches_its_snapshots, lab03_ca_verification::lab());
