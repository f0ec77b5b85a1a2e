export { default } from "@swanhouse/testkit/global-setup";
