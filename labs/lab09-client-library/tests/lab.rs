//! Runs lab 9 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab09_matches_its_snapshots, lab09_client_library::lab());
