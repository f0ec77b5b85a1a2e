// Fine-tune jobs: list (polled while any job is open), one job, form options, create, cancel.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { JobOptionsResponse, JobResponse, ListJobsResponse, type CreateJobBody, type Job } from "@swanhouse/contracts";
import { api, enc, qs } from "../../api/http.js";

const isOpen = (j: Job) => j.status === "queued" || j.status === "running";
const POLL_MS = 1000;

export const useJobs = (workspace?: string) =>
  useQuery({
    queryKey: ["jobs", workspace ?? ""],
    queryFn: () => api(ListJobsResponse, `/jobs${qs({ workspace, limit: 100 })}`),
    // Live progress: poll while something is queued or running (react-query chains the timeouts).
    refetchInterval: (q) => (q.state.data?.jobs.some(isOpen) ? POLL_MS : 5000),
    retry: false,
  });

export const useJob = (id: string) =>
  useQuery({
    queryKey: ["job", id],
    queryFn: () => api(JobResponse, `/jobs/${enc(id)}`),
    refetchInterval: (q) => (q.state.data && isOpen(q.state.data.job) ? POLL_MS : false),
    retry: false,
  });

export const useJobOptions = () =>
  useQuery({ queryKey: ["job-options"], queryFn: () => api(JobOptionsResponse, "/jobs/options"), refetchInterval: 10_000, retry: false });

export function useCreateJob() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: CreateJobBody) => api(JobResponse, "/jobs", { method: "POST", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["jobs"] }),
  });
}

export function useCancelJob() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api(JobResponse, `/jobs/${enc(id)}/cancel`, { method: "POST", body: {} }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["jobs"] }),
  });
}
