//! Runs lab 6 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab06_matches_its_snapshots, lab06_ambassador::lab());
