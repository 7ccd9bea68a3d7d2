// Files in the web page: those chosen for the next message, and those of stored messages.
// Chosen files stay File objects (shown as chips with their name and size) until the
// message is sent, when they are read as base64 into the JSON body; the API takes at most
// MAX_BODY bytes of body, so a selection that cannot fit is refused here, before sending.
// A stored file is fetched with the token (an <img src> cannot send the Authorization
// header the API needs) and shown through a blob URL, revoked when the conversation changes.
"use strict";

window.DesktopChat = window.DesktopChat || {};

window.DesktopChat.files = (() => {
  // The API's body limit for a message carrying files (docs/api.md, "Security checks").
  const MAX_BODY = 72 * 1024 * 1024;
  const BODY_ROOM = 4096; // the JSON around the files: text, names, quotes

  function sizeText(size) {
    // As the window and the command line write sizes: 512 bytes, 14 KB, 3.2 MB.
    if (size < 1024) return `${size} bytes`;
    if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
    return `${(size / (1024 * 1024)).toFixed(1)} MB`;
  }

  const encodedSize = (size) => 4 * Math.ceil(size / 3); // base64

  function readBase64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
      reader.onerror = () => reject(new Error(`${file.name} cannot be read.`));
      reader.readAsDataURL(file);
    });
  }

  // The files chosen for the next message, as removable chips above the input.
  class Tray {
    constructor(list, onChange) {
      this.list = list;
      this.onChange = onChange;
      this.chosen = [];
    }

    get empty() {
      return this.chosen.length === 0;
    }

    // Add files; returns the sentence refusing those that would not fit in one request.
    add(files) {
      const refused = [];
      for (const file of files) {
        if (this.bodySize([...this.chosen, file]) > MAX_BODY) refused.push(file.name);
        else this.chosen.push(file);
      }
      this.render();
      if (!refused.length) return "";
      return (
        `${refused.join(", ")} cannot be attached: the files of one message can be about ` +
        `${sizeText(Math.floor(((MAX_BODY - BODY_ROOM) * 3) / 4))} together. ` +
        "Send the others in another message."
      );
    }

    bodySize(files, text = "") {
      const names = files.reduce((sum, f) => sum + encodedSize(f.size) + f.name.length * 6, 0);
      return names + text.length * 6 + BODY_ROOM; // a character's JSON escape is at most 6 bytes
    }

    clear() {
      this.chosen = [];
      this.render();
    }

    // The `attachments` of the request body; rejects with a sentence if it cannot be sent.
    async encode(text) {
      if (this.bodySize(this.chosen, text) > MAX_BODY) {
        throw new Error("The message and its files are too large to send together.");
      }
      return Promise.all(
        this.chosen.map(async (file) => ({
          name: file.name || "file",
          ...(file.type ? { mime: file.type } : {}),
          data: await readBase64(file),
        })),
      );
    }

    render() {
      this.list.replaceChildren(
        ...this.chosen.map((file, index) => {
          const chip = document.createElement("li");
          chip.className = "chip";
          const label = document.createElement("span");
          label.textContent = `${file.name} · ${sizeText(file.size)}`;
          const remove = document.createElement("button");
          remove.type = "button";
          remove.className = "link";
          remove.textContent = "×";
          remove.title = `Remove ${file.name}`;
          remove.setAttribute("aria-label", remove.title);
          remove.addEventListener("click", () => {
            this.chosen.splice(index, 1);
            this.render();
          });
          chip.append(label, remove);
          return chip;
        }),
      );
      this.list.hidden = this.empty;
      this.onChange();
    }
  }

  // The files of stored messages: fetched once each, shown through blob URLs.
  class Shelf {
    constructor(fetchBlob, onError) {
      this.fetchBlob = fetchBlob; // (path) => Promise<Blob>, sending the token
      this.onError = onError;
      this.urls = new Map(); // sha256 -> Promise<blob URL>
      this.views = new Map(); // message id -> element, kept so thumbnails never reload
      this.conversation = null;
    }

    // Forget the open conversation's files: their URLs are revoked, their views dropped.
    reset(conversation) {
      for (const made of this.urls.values()) made.then((url) => URL.revokeObjectURL(url), () => {});
      this.urls.clear();
      this.views.clear();
      this.conversation = conversation;
    }

    url(sha256) {
      if (!this.urls.has(sha256)) {
        const conversation = this.conversation;
        const path = `/api/conversations/${encodeURIComponent(conversation)}/files/${sha256}`;
        const made = this.fetchBlob(path).then((blob) => {
          const url = URL.createObjectURL(blob);
          if (conversation !== this.conversation) URL.revokeObjectURL(url); // left meanwhile
          return url;
        });
        made.catch(() => {
          if (this.urls.get(sha256) === made) this.urls.delete(sha256); // tried again on a click
        });
        this.urls.set(sha256, made);
      }
      return this.urls.get(sha256);
    }

    view(message) {
      if (!this.views.has(message.id)) {
        const box = document.createElement("div");
        box.className = "files";
        box.append(...message.attachments.map((file) => this.item(file)));
        this.views.set(message.id, box);
      }
      return this.views.get(message.id);
    }

    item(file) {
      const link = document.createElement("a");
      link.href = "#";
      link.title = `Open ${file.name} (${sizeText(file.size)})`;
      if (file.kind === "image") {
        link.className = "thumb";
        const image = document.createElement("img");
        image.alt = file.name;
        link.append(image);
        this.url(file.sha256).then(
          (url) => {
            image.src = link.href = url;
            link.target = "_blank"; // an image opens in a tab of its own
          },
          () => link.classList.add("broken"),
        );
      } else {
        link.className = "file";
        link.textContent = `${file.name} · ${sizeText(file.size)}`;
      }
      link.addEventListener("click", (event) => {
        if (link.target) return; // the image's blob URL opens by itself
        event.preventDefault();
        this.url(file.sha256).then((url) => {
          const save = document.createElement("a");
          save.href = url;
          save.download = file.name;
          save.click();
        }, this.onError);
      });
      return link;
    }
  }

  return { Tray, Shelf, sizeText, MAX_BODY };
})();
