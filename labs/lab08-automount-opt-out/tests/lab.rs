//! Runs lab 8 on the backend `KUBELAB_BACKEND` names and checks every step's snapshot.

backends::lab_test!(lab08_matches_its_snapshots, lab08_automount_opt_out::lab());
