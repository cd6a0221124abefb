//! Runs lab 7 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab07_matches_its_snapshots, lab07_rbac_binding::lab());
