//! runtime-k8s: each ao session as a Kubernetes pod (issue 18, in progress).
//!
//! This crate holds the parts that talk to a cluster, tested against testkit's Kubernetes
//! simulator: [`kubeconfig`] (contexts, in-cluster config, credentials by reference), [`api`]
//! (the REST calls, `Status` errors as kinds) and [`exec`] (commands in a pod over the exec
//! WebSocket, `v5.channel.k8s.io` first). The runtime itself (the pod manifest, probe by one
//! LIST, delivery through tmux in the pod) builds on them and is not exported as a plugin yet.

pub mod api;
pub mod exec;
pub mod kubeconfig;
