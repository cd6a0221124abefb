//! Runs lab 1 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab01_matches_its_snapshots, lab01_proxy_access::lab());
