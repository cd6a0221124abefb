//! Runs lab 4 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab04_matches_its_snapshots, lab04_bearer_token::lab());
