//! Runs lab 2 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab02_matches_its_snapshots, lab02_curl_pod::lab());
