//! Runs lab 5 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab05_matches_its_snapshots, lab05_namespace_file::lab());
